;; Asks for more memory than its cap (32 pages under a cap of 16), ignores
;; the -1 and writes where the new memory would have been: the out-of-bounds
;; store traps, and the host reports ErrMemoryLimit (wrapping ErrTrap).
(module
  (memory (export "memory") 1)
  (func (export "wisp_abi_v1"))
  (func (export "wisp_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "wisp_score") (param i32 i32 i32 i32) (result i32)
    (drop (memory.grow (i32.const 32)))
    (i32.store (i32.const 0x100000) (i32.const 1))
    (i32.const 0)))
