;; wisp_score with the wrong type (i64 result).
(module
  (memory (export "memory") 1)
  (func (export "wisp_abi_v1"))
  (func (export "wisp_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "wisp_score") (param i32 i32 i32 i32) (result i64) (i64.const 0)))
