;; flags: --no-check
;; Tries to write a global it does not define (the index the host's fuel
;; global would get after instrumentation), to refill its own fuel.
(module
  (global $g (mut i64) (i64.const 0))
  (memory (export "memory") 1)
  (func (export "wisp_abi_v1"))
  (func (export "wisp_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "wisp_score") (param i32 i32 i32 i32) (result i32)
    (global.set 1 (i64.const 9223372036854775807))
    (i32.const 0)))
