;; _initialize writes one 4,096-byte wisp.log line: the per-call log cap
;; (1 KiB by default) applies to an instance's start too.
(module
  (import "wisp" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "wisp_abi_v1"))
  (func (export "wisp_buffer") (param i32) (result i32) (i32.const 8192))
  (func (export "_initialize")
    (memory.fill (i32.const 0) (i32.const 0x41) (i32.const 4096))
    (call $log (i32.const 0) (i32.const 4096)))
  (func (export "wisp_score") (param i32 i32 i32 i32) (result i32) (i32.const 0)))
