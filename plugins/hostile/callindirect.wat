;; call_indirect through a table slot past its end, and with the wrong type.
(module
  (type $t (func (result i32)))
  (type $u (func (param i64) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $one)
  (func $one (result i32) (i32.const 1))
  (memory (export "memory") 1)
  (func (export "wisp_abi_v1"))
  (func (export "wisp_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "wisp_score") (param $in i32) (param $in_len i32) (param $out i32) (param $cap i32) (result i32)
    ;; slot 0 with the wrong signature traps; so would slot 1 (null) and 7 (out of range)
    (drop (call_indirect (type $u) (i64.const 0) (i32.const 0)))
    (call_indirect (type $t) (i32.const 7))))
