;; Opts into summary batches but fails raw ones (flags == 0) with
;; ErrCodeBadInput, logging why: the bug `wisp plugin test --raw-events`
;; must catch, and the line `--verbose` must show.
(module
  (import "wisp" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "summaryonly: a raw batch, refused")
  (func (export "wisp_abi_v1"))
  (func (export "wisp_summary_v1"))
  (func (export "wisp_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "wisp_score") (param $in i32) (param $in_len i32) (param $out i32) (param $cap i32) (result i32)
    (if (result i32) (i32.load offset=12 (local.get $in))
      (then (i32.const 0))
      (else (call $log (i32.const 0) (i32.const 33)) (i32.const -1)))))
