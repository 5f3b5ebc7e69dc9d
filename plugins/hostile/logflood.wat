;; Calls wisp.log with 60 KiB lines, forever.
(module
  (import "wisp" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "wisp_abi_v1"))
  (func (export "wisp_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "wisp_score") (param $in i32) (param $in_len i32) (param $out i32) (param $cap i32) (result i32)
    (loop $l (call $log (i32.const 0) (i32.const 61440)) (br $l))
    (i32.const 0)))
