;; Writes its answer far outside its memory.
(module
  (memory (export "memory") 1)
  (func (export "wisp_abi_v1"))
  (func (export "wisp_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "wisp_score") (param $in i32) (param $in_len i32) (param $out i32) (param $cap i32) (result i32)
    (i32.store (i32.const 0x7ffffff0) (i32.const 408)) (i32.const 1)))
