;; Declares a table of 100 million entries (800 MB of host memory in wazero).
(module
  (table 100000000 funcref)
  (memory (export "memory") 1)
  (func (export "wisp_abi_v1"))
  (func (export "wisp_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "wisp_score") (param i32 i32 i32 i32) (result i32) (i32.const 0)))
