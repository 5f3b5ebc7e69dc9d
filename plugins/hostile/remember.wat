;; remember: a plugin that keeps state between calls, to prove that plugins
;; sharing one compiled module (sandbox.Runtime's module sharing, the
;; devices of one process) never share it. Each call adds 1 to a counter in
;; linear memory (address 0) and to a mutable global, and scores Running
;; (410) as memory count / 100 and Cycling (625) as global count / 100. An
;; instance that saw another plugin's calls would score more than its own.
(module
  (memory (export "memory") 1)
  (global $calls (mut i32) (i32.const 0))
  (func (export "wisp_abi_v1"))
  (func (export "wisp_buffer") (param $size i32) (result i32)
    (i32.const 1024))
  (func (export "wisp_score") (param $in i32) (param $len i32) (param $out i32) (param $cap i32) (result i32)
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.store (local.get $out) (i32.const 410))
    (f32.store offset=4 (local.get $out) (f32.div (f32.convert_i32_u (i32.load (i32.const 0))) (f32.const 100)))
    (i32.store offset=8 (local.get $out) (i32.const 625))
    (f32.store offset=12 (local.get $out) (f32.div (f32.convert_i32_u (global.get $calls)) (f32.const 100)))
    (i32.const 2)))
