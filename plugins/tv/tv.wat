;; tv — the smart TV / voice assistant media plugin, hand-written in WAT
;; (no SDK, no imports: ABI v1 straight from sdk/ABI.md).
;;
;; Events in:
;;   kind 1 = watched on the TV:      code = genre (1..16, table below), value = minutes
;;   kind 2 = played on the speaker:  code = music genre (1..8),         value = minutes
;; Scores out (IAB Audience Taxonomy 1.1): one per genre watched or played,
;; m / (m + 120), and the parents Television (706), Movies (467) and Music
;; and Audio (481) over their genres' total minutes, m / (m + 300).
;; Unknown kinds and codes, NaN, infinite and negative minutes are ignored.
;;
;; Build: wat2wasm tv.wat -o tv.wasm
(module
  (memory (export "memory") 5)

  ;; slot → category (u32 × 24 at 0): slots 0..15 are TV kind-1 codes 1..16,
  ;; slots 16..23 are speaker kind-2 codes 1..8.
  (data (i32.const 0)
    "\c5\02\00\00" ;; 1 comedy TV 709
    "\c6\02\00\00" ;; 2 drama TV 710
    "\c7\02\00\00" ;; 3 factual TV 711
    "\ca\02\00\00" ;; 4 reality TV 714
    "\cb\02\00\00" ;; 5 science fiction TV 715
    "\ce\02\00\00" ;; 6 sports TV 718
    "\c4\02\00\00" ;; 7 children's TV 708
    "\c3\02\00\00" ;; 8 animation TV 707
    "\d4\01\00\00" ;; 9 action and adventure movies 468
    "\d6\01\00\00" ;; 10 comedy movies 470
    "\d8\01\00\00" ;; 11 documentary movies 472
    "\d9\01\00\00" ;; 12 drama movies 473
    "\dc\01\00\00" ;; 13 horror movies 476
    "\df\01\00\00" ;; 14 science fiction movies 479
    "\da\01\00\00" ;; 15 family and children movies 474
    "\c9\02\00\00" ;; 16 music TV 713
    "\ed\01\00\00" ;; speaker 1 pop 493
    "\f8\01\00\00" ;; speaker 2 rock 504
    "\f3\01\00\00" ;; speaker 3 jazz 499
    "\ea\01\00\00" ;; speaker 4 classical 490
    "\f1\01\00\00" ;; speaker 5 hip hop 497
    "\ee\01\00\00" ;; speaker 6 country 494
    "\ef\01\00\00" ;; speaker 7 dance and electronic 495
    "\04\02\00\00") ;; speaker 8 news radio 516
  ;; slot → parent index (u8 × 24 at 96): 0 Television, 1 Movies, 2 Music and Audio
  (data (i32.const 96) "\00\00\00\00\00\00\00\00\01\01\01\01\01\01\01\00\02\02\02\02\02\02\02\02")
  ;; parent index → category (u32 × 3 at 128): 706, 467, 481
  (data (i32.const 128) "\c2\02\00\00\d3\01\00\00\e1\01\00\00")
  ;; 256..448: minutes per slot (f64 × 24); 448..472: minutes per parent (f64 × 3)

  (func (export "wisp_abi_v1"))

  ;; One region from 1024 to the end of the initial memory.
  (func (export "wisp_buffer") (param $size i32) (result i32)
    (if (result i32) (i32.gt_u (local.get $size) (i32.const 326656)) ;; 5 × 65536 − 1024
      (then (i32.const 0)) (else (i32.const 1024))))

  ;; saturate(m, half) = m / (m + half)
  (func $saturate (param $m f64) (param $half f64) (result f32)
    (f32.demote_f64 (f64.div (local.get $m) (f64.add (local.get $m) (local.get $half)))))

  (func (export "wisp_score") (param $in i32) (param $len i32) (param $out i32) (param $cap i32) (result i32)
    (local $n i32) (local $size i32) (local $p i32) (local $slot i32) (local $v f64) (local $k i32) (local $i i32)
    ;; header: version 1, count, record size ≥ 24, count × size = len − 16
    (if (i32.lt_u (local.get $len) (i32.const 16)) (then (return (i32.const -1))))
    (if (i32.ne (i32.load (local.get $in)) (i32.const 1)) (then (return (i32.const -1))))
    (local.set $n (i32.load offset=4 (local.get $in)))
    (local.set $size (i32.load offset=8 (local.get $in)))
    (if (i32.lt_u (local.get $size) (i32.const 24)) (then (return (i32.const -1))))
    (if (i64.ne (i64.mul (i64.extend_i32_u (local.get $n)) (i64.extend_i32_u (local.get $size)))
                (i64.extend_i32_u (i32.sub (local.get $len) (i32.const 16))))
      (then (return (i32.const -1))))
    ;; the accumulators start at zero on every call: plugins are pure
    (memory.fill (i32.const 256) (i32.const 0) (i32.const 216))

    (local.set $p (i32.add (local.get $in) (i32.const 16)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $slot (i32.const -1))
        (local.set $k (i32.load offset=4 (local.get $p))) ;; code
        (block $known
          (if (i32.eq (i32.load (local.get $p)) (i32.const 1))
            (then (if (i32.lt_u (i32.sub (local.get $k) (i32.const 1)) (i32.const 16))
              (then (local.set $slot (i32.sub (local.get $k) (i32.const 1))) (br $known)))))
          (if (i32.eq (i32.load (local.get $p)) (i32.const 2))
            (then (if (i32.lt_u (i32.sub (local.get $k) (i32.const 1)) (i32.const 8))
              (then (local.set $slot (i32.add (local.get $k) (i32.const 15))))))))
        (local.set $v (f64.load offset=16 (local.get $p)))
        ;; finite and ≥ 0: v ≥ 0 is false for NaN; v ≤ max rules out +Inf
        (if (i32.and (i32.ge_s (local.get $slot) (i32.const 0))
                     (i32.and (f64.ge (local.get $v) (f64.const 0)) (f64.le (local.get $v) (f64.const 0x1.fffffffffffffp+1023))))
          (then
            (f64.store offset=256 (i32.shl (local.get $slot) (i32.const 3))
              (f64.add (f64.load offset=256 (i32.shl (local.get $slot) (i32.const 3))) (local.get $v)))))
        (local.set $p (i32.add (local.get $p) (local.get $size)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))

    ;; genres, and their minutes into the parents
    (local.set $k (i32.const 0)) ;; records written
    (local.set $i (i32.const 0))
    (loop $genre
      (local.set $v (f64.load offset=256 (i32.shl (local.get $i) (i32.const 3))))
      (if (f64.gt (local.get $v) (f64.const 0))
        (then
          (if (i32.ge_s (local.get $k) (local.get $cap)) (then (return (i32.const -2))))
          (i32.store (local.get $out) (i32.load (i32.shl (local.get $i) (i32.const 2))))
          (f32.store offset=4 (local.get $out) (call $saturate (local.get $v) (f64.const 120)))
          (local.set $out (i32.add (local.get $out) (i32.const 8)))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (local.set $slot (i32.shl (i32.load8_u offset=96 (local.get $i)) (i32.const 3)))
          (f64.store offset=448 (local.get $slot) (f64.add (f64.load offset=448 (local.get $slot)) (local.get $v)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $genre (i32.lt_u (local.get $i) (i32.const 24))))
    (local.set $i (i32.const 0))
    (loop $parent
      (local.set $v (f64.load offset=448 (i32.shl (local.get $i) (i32.const 3))))
      (if (f64.gt (local.get $v) (f64.const 0))
        (then
          (if (i32.ge_s (local.get $k) (local.get $cap)) (then (return (i32.const -2))))
          (i32.store (local.get $out) (i32.load offset=128 (i32.shl (local.get $i) (i32.const 2))))
          (f32.store offset=4 (local.get $out) (call $saturate (local.get $v) (f64.const 300)))
          (local.set $out (i32.add (local.get $out) (i32.const 8)))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $parent (i32.lt_u (local.get $i) (i32.const 3))))
    (local.get $k)))
