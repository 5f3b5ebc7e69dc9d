;; Like bulkfill, with memory.copy of half the memory onto the other half.
(module
  (memory (export "memory") 1 512)
  (func (export "wisp_abi_v1"))
  (func (export "wisp_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "wisp_score") (param i32 i32 i32 i32) (result i32)
    (drop (memory.grow (i32.const 511)))
    (loop $l
      (memory.copy (i32.const 0) (i32.mul (memory.size) (i32.const 32768)) (i32.mul (memory.size) (i32.const 32768)))
      (br $l))
    (i32.const 0)))
