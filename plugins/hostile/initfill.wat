;; The bulk-fill loop in _initialize: loading must come back within the
;; start budget (fuel and deadline), not hang.
(module
  (memory (export "memory") 1 512)
  (func (export "wisp_abi_v1"))
  (func (export "wisp_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "_initialize")
    (drop (memory.grow (i32.const 511)))
    (loop $l
      (memory.fill (i32.const 0) (i32.const 0x5a) (i32.mul (memory.size) (i32.const 65536)))
      (br $l)))
  (func (export "wisp_score") (param i32 i32 i32 i32) (result i32) (i32.const 0)))
