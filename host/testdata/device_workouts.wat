;; device_workouts: a tiny plugin for the device runtime's tests.
;; Build: wat2wasm device_workouts.wat -o device_workouts.wasm
;; Events of kind 3 (workout) with code 1 (run) or 2 (ride) and Value in
;; minutes; scores Running (410) and Cycling (625) as m / (m + 60).
(module
  (memory (export "memory") 1)
  (func (export "wisp_abi_v1"))
  (func (export "wisp_buffer") (param $size i32) (result i32)
    (if (result i32) (i32.gt_u (local.get $size) (i32.const 64512))
      (then (i32.const 0)) (else (i32.const 1024))))
  (func $score (param $m f64) (result f32)
    (f32.demote_f64 (f64.div (local.get $m) (f64.add (local.get $m) (f64.const 60)))))
  (func (export "wisp_score") (param $in i32) (param $len i32) (param $out i32) (param $cap i32) (result i32)
    (local $n i32) (local $size i32) (local $p i32) (local $run f64) (local $ride f64) (local $k i32) (local $v f64)
    (if (i32.lt_u (local.get $len) (i32.const 16)) (then (return (i32.const -1))))
    (if (i32.ne (i32.load (local.get $in)) (i32.const 1)) (then (return (i32.const -1))))
    (local.set $n (i32.load offset=4 (local.get $in)))
    (local.set $size (i32.load offset=8 (local.get $in)))
    (if (i32.lt_u (local.get $size) (i32.const 24)) (then (return (i32.const -1))))
    (local.set $p (i32.add (local.get $in) (i32.const 16)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $v (f64.load offset=16 (local.get $p)))
        (if (i32.and (i32.eq (i32.load (local.get $p)) (i32.const 3)) (f64.ge (local.get $v) (f64.const 0)))
          (then
            (local.set $k (i32.load offset=4 (local.get $p)))
            (if (i32.eq (local.get $k) (i32.const 1)) (then (local.set $run (f64.add (local.get $run) (local.get $v)))))
            (if (i32.eq (local.get $k) (i32.const 2)) (then (local.set $ride (f64.add (local.get $ride) (local.get $v)))))))
        (local.set $p (i32.add (local.get $p) (local.get $size)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (if (i32.lt_s (local.get $cap) (i32.const 2)) (then (return (i32.const -2))))
    (i32.store (local.get $out) (i32.const 410))
    (f32.store offset=4 (local.get $out) (call $score (local.get $run)))
    (i32.store offset=8 (local.get $out) (i32.const 625))
    (f32.store offset=12 (local.get $out) (call $score (local.get $ride)))
    (i32.const 2)))
