;; Grows its table by a billion entries: refused at load (wazero cannot cap tables).
(module
  (table $t 1 funcref)
  (memory (export "memory") 1)
  (func (export "wisp_abi_v1"))
  (func (export "wisp_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "wisp_score") (param $in i32) (param $in_len i32) (param $out i32) (param $cap i32) (result i32)
    (drop (table.grow $t (ref.null func) (i32.const 1000000000)))
    (drop (table.grow $t (ref.null func) (i32.const 1000000000)))
    (call_indirect (result i32) (i32.const 0))))
