;; The bulk-fill loop inside wisp_buffer, which the host calls before
;; wisp_score when it needs a larger buffer.
(module
  (memory (export "memory") 1 512)
  (func (export "wisp_abi_v1"))
  (func (export "wisp_buffer") (param i32) (result i32)
    (drop (memory.grow (i32.const 511)))
    (loop $l
      (memory.fill (i32.const 0) (i32.const 0x5a) (i32.mul (memory.size) (i32.const 65536)))
      (br $l))
    (i32.const 1024))
  (func (export "wisp_score") (param i32 i32 i32 i32) (result i32) (i32.const 0)))
