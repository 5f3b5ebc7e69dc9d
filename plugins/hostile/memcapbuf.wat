;; wisp_buffer grows memory for the buffer the host asks for, 32 pages more
;; than it needs, and returns 0 (malloc's NULL) when the grow fails, as it does
;; under a cap of 16 pages: ErrMemoryLimit (wrapping ErrBadOutput).
(module
  (memory (export "memory") 1)
  (func (export "wisp_abi_v1"))
  (func (export "wisp_buffer") (param $need i32) (result i32)
    (if (result i32) (i32.eq (memory.grow (i32.const 32)) (i32.const -1))
      (then (i32.const 0))
      (else (i32.const 1024))))
  (func (export "wisp_score") (param i32 i32 i32 i32) (result i32) (i32.const 0)))
