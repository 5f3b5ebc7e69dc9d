;; Speaks a future ABI version this host does not know.
(module
  (memory (export "memory") 1)
  (func (export "wisp_abi_v2"))
  (func (export "wisp_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "wisp_score") (param i32 i32 i32 i32) (result i32) (i32.const 0)))
