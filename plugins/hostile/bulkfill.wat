;; Grows memory to the cap, then memory.fill's all of it in a loop, forever:
;; a few instructions per turn but milliseconds of work, and Wasm is not
;; preemptible, so a garbage collection waits for it. Fuel must charge the
;; fill by its length.
(module
  (memory (export "memory") 1 512)
  (func (export "wisp_abi_v1"))
  (func (export "wisp_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "wisp_score") (param i32 i32 i32 i32) (result i32)
    (drop (memory.grow (i32.const 511)))
    (loop $l
      (memory.fill (i32.const 0) (i32.const 0x5a) (i32.mul (memory.size) (i32.const 65536)))
      (br $l))
    (i32.const 0)))
