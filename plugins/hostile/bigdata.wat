;; A data segment that runs past the end of its 1-page memory.
(module
  (memory (export "memory") 1)
  (func (export "wisp_abi_v1"))
  (func (export "wisp_buffer") (param i32) (result i32) (i32.const 1024))
  (data (i32.const 65530) "0123456789abcdef")
  (func (export "wisp_score") (param i32 i32 i32 i32) (result i32) (i32.const 0)))
