;; Like memcap, but checks memory.grow's -1 and returns ErrCodeInternal (-3),
;; as a C plugin does when malloc fails: ErrMemoryLimit (wrapping
;; ErrPluginFailed).
(module
  (memory (export "memory") 1)
  (func (export "wisp_abi_v1"))
  (func (export "wisp_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "wisp_score") (param i32 i32 i32 i32) (result i32)
    (if (i32.eq (memory.grow (i32.const 32)) (i32.const -1))
      (then (return (i32.const -3))))
    (i32.const 0)))
