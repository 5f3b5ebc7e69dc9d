;; Scores +Inf for a declared category.
(module
  (memory (export "memory") 1)
  (func (export "wisp_abi_v1"))
  (func (export "wisp_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "wisp_score") (param $in i32) (param $in_len i32) (param $out i32) (param $cap i32) (result i32)
    (i32.store (local.get $out) (i32.const 408)) (f32.store offset=4 (local.get $out) (f32.const inf)) (i32.const 1)))
