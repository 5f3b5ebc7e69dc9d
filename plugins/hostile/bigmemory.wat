;; Declares 60,000 initial pages (3.7 GiB), far over any device cap.
(module
  (memory (export "memory") 60000)
  (func (export "wisp_abi_v1"))
  (func (export "wisp_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "wisp_score") (param i32 i32 i32 i32) (result i32) (i32.const 0)))
