//! The C ABI called from Rust: results identical to the Rust API on every compiled backend,
//! argument checking, handle safety, cancellation. Also writes the fixtures of the C tests
//! (`tests/c/`) into `$LSEG_C_FIXTURES` (default: `$TMPDIR/lseg-c-fixtures`).

#[path = "../../../tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::ffi::{CStr, CString, c_char, c_void};
use std::path::PathBuf;
use std::ptr::{null, null_mut};

use crate::*;
use common::*;
use lseg::{
    Backend, EmbedNorm, EmbedOptions, EmbedResolution, ImageView, LoadOptions, Lseg, Mode,
    MultiScale, PixelFormat,
};

const LABELS: [&str; 5] = ["dog", "grass", "other", "a red car", "sky"];
const W: usize = 100;
const H: usize = 70;

/// The tiny_vit16 weights (reference tensors dropped) with the config in the metadata.
fn model_bytes() -> Vec<u8> {
    let recs: std::collections::BTreeMap<_, _> = records("tiny_vit16")
        .into_iter()
        .filter(|(k, _)| {
            k.starts_with("pretrained.") || k.starts_with("scratch.") || k.starts_with("clip_")
        })
        .collect();
    let meta: HashMap<String, String> = [(
        lseg::weights::CONFIG_METADATA_KEY.to_string(),
        fixture_config("tiny_vit16").to_json(),
    )]
    .into();
    serialize(&recs, Some(meta))
}

/// A deterministic RGB test image with structure (gradients, a disc, noise).
fn test_image() -> Vec<u8> {
    let mut v = Vec::with_capacity(W * H * 3);
    let mut s: u32 = 12345;
    for y in 0..H {
        for x in 0..W {
            s = s.wrapping_mul(1664525).wrapping_add(1013904223);
            let n = (s >> 24) as i32 - 128;
            let disc = ((x as i32 - 60).pow(2) + (y as i32 - 30).pow(2)) < 400;
            let r = if disc { 220 } else { (x * 255 / W) as i32 };
            let g = (y * 255 / H) as i32;
            let b = if disc { 30 } else { 128 + n / 2 };
            for c in [r, g, b] {
                v.push((c + n / 8).clamp(0, 255) as u8);
            }
        }
    }
    v
}

fn ms_mode() -> MultiScale {
    MultiScale {
        base_size: 80,
        crop_size: 64,
        scales: vec![0.75, 1.25],
        flip: true,
    }
}

fn st(s: lseg_status) -> String {
    unsafe { CStr::from_ptr(lseg_status_name(s as i32)) }
        .to_str()
        .unwrap()
        .to_string()
}

fn last_error() -> String {
    unsafe { CStr::from_ptr(lseg_last_error()) }
        .to_str()
        .unwrap()
        .to_string()
}

fn ok(s: lseg_status) {
    assert_eq!(s, lseg_status::LSEG_OK, "{}: {}", st(s), last_error());
}

fn create(bytes: &[u8], backend: u32) -> (lseg_status, *mut lseg_model) {
    let mut p = lseg_model_params_default();
    p.backend = backend;
    p.weights_data = bytes.as_ptr() as *const c_void;
    p.weights_size = bytes.len();
    let mut m = null_mut();
    let s = unsafe { lseg_create(&p, &mut m) };
    (s, m)
}

fn c_backend(b: Backend) -> u32 {
    lseg_backend::from(b) as u32
}

fn encode(m: *const lseg_model, labels: &[&str]) -> (lseg_status, *mut lseg_labels) {
    let cs: Vec<CString> = labels.iter().map(|s| CString::new(*s).unwrap()).collect();
    let ptrs: Vec<*const c_char> = cs.iter().map(|c| c.as_ptr()).collect();
    let mut l = null_mut();
    let s = unsafe { lseg_encode_labels(m, ptrs.as_ptr(), ptrs.len(), &mut l) };
    (s, l)
}

fn c_image(data: &[u8]) -> lseg_image {
    lseg_image {
        data: data.as_ptr(),
        width: W as u32,
        height: H as u32,
        stride: 0,
        format: lseg_pixel_format::Rgb8 as u32,
    }
}

struct Outs {
    labels: Vec<u16>,
    scores: Vec<f32>,
    conf: Vec<f32>,
}

fn c_segment(
    m: *const lseg_model,
    l: *const lseg_labels,
    img: &lseg_image,
    p: &lseg_segment_params,
    n: usize,
) -> (lseg_status, Outs) {
    let mut o = Outs {
        labels: vec![0xffff; W * H],
        scores: vec![f32::NAN; n * W * H],
        conf: vec![f32::NAN; W * H],
    };
    let mut out = lseg_segment_outputs_default();
    out.label_map = o.labels.as_mut_ptr();
    out.label_map_len = o.labels.len();
    out.scores = o.scores.as_mut_ptr();
    out.scores_len = o.scores.len();
    out.confidence = o.conf.as_mut_ptr();
    out.confidence_len = o.conf.len();
    let s = unsafe { lseg_segment(m, l, img, p, &out) };
    (s, o)
}

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Rust-API references for the C tests, plus the weights, config and image they use.
#[test]
fn write_c_test_fixtures() {
    let dir = std::env::var_os("LSEG_C_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("lseg-c-fixtures"));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = model_bytes();
    write(&dir, "tiny_vit16.safetensors", &bytes);
    write(
        &dir,
        "tiny_vit16.config.json",
        fixture_config("tiny_vit16").to_json().as_bytes(),
    );
    let img = test_image();
    write(&dir, "image_100x70.rgb", &img);
    ::image::save_buffer(
        dir.join("image_100x70.png"),
        &img,
        W as u32,
        H as u32,
        ::image::ExtendedColorType::Rgb8,
    )
    .unwrap();
    let model = Lseg::load_bytes(&bytes, &LoadOptions::default()).unwrap();
    let labels = model.encode_labels(&LABELS).unwrap();
    write(&dir, "ref_text.f32", &f32_bytes(&labels.to_vec()));
    let view = ImageView::packed(&img, W, H, PixelFormat::Rgb8).unwrap();
    for (name, mode) in [
        ("single", Mode::Single { size: Some(96) }),
        ("ms", Mode::MultiScale(ms_mode())),
    ] {
        let seg = model.segment(&view, &labels, &mode, None).unwrap();
        let lm: Vec<u8> = seg
            .label_map()
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        write(&dir, &format!("ref_{name}_labels.u16"), &lm);
        write(
            &dir,
            &format!("ref_{name}_scores.f32"),
            &f32_bytes(&seg.scores_vec()),
        );
        write(
            &dir,
            &format!("ref_{name}_conf.f32"),
            &f32_bytes(&seg.confidence()),
        );
    }
    for (name, norm, resolution) in [
        ("l2_native", EmbedNorm::L2, EmbedResolution::Native),
        ("raw_input", EmbedNorm::Raw, EmbedResolution::Input),
    ] {
        let o = EmbedOptions {
            size: Some(64),
            norm,
            resolution,
        };
        let e = model.embed_image(&view, &o).unwrap();
        let v = e.to_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        write(&dir, &format!("ref_embed_{name}.f32"), &f32_bytes(&v));
    }
    eprintln!("C test fixtures in {}", dir.display());
}

#[test]
fn segment_and_labels_equal_the_rust_api_on_every_backend() {
    let bytes = model_bytes();
    let img = test_image();
    let view = ImageView::packed(&img, W, H, PixelFormat::Rgb8).unwrap();
    for backend in Backend::compiled() {
        let opts = LoadOptions {
            backend: Some(backend),
            ..Default::default()
        };
        let model = Lseg::load_bytes(&bytes, &opts).unwrap();
        let labels = model.encode_labels(&LABELS).unwrap();
        let (s, m) = create(&bytes, c_backend(backend));
        ok(s);
        assert_eq!(lseg_model_embed_dim(m), 512);
        let (s, l) = encode(m, &LABELS);
        ok(s);
        assert_eq!(lseg_labels_count(l), 5);
        assert_eq!(lseg_labels_dim(l), 512);
        let mut text = vec![0f32; 5 * 512];
        ok(unsafe { lseg_labels_embeddings(l, text.as_mut_ptr(), text.len()) });
        assert_eq!(text, labels.to_vec(), "{backend}");
        let scales = ms_mode().scales;
        let mut single = lseg_segment_params_default();
        single.size = 96;
        let mut ms = lseg_segment_params_default();
        ms.mode = lseg_mode::MultiScale as u32;
        ms.base_size = 80;
        ms.crop_size = 64;
        ms.scales = scales.as_ptr();
        ms.n_scales = scales.len();
        for (p, mode) in [
            (single, Mode::Single { size: Some(96) }),
            (ms, Mode::MultiScale(ms_mode())),
        ] {
            let want = model.segment(&view, &labels, &mode, None).unwrap();
            let (s, got) = c_segment(m, l, &c_image(&img), &p, 5);
            ok(s);
            assert_eq!(got.labels, want.label_map(), "{backend} {mode:?}");
            assert_eq!(got.scores, want.scores_vec(), "{backend} {mode:?}");
            assert_eq!(got.conf, want.confidence(), "{backend} {mode:?}");
        }
        lseg_labels_free(l);
        lseg_free(m);
    }
}

#[test]
fn embed_equals_the_rust_api_in_every_layout_and_dtype() {
    let bytes = model_bytes();
    let img = test_image();
    let view = ImageView::packed(&img, W, H, PixelFormat::Rgb8).unwrap();
    let model = Lseg::load_bytes(&bytes, &LoadOptions::default()).unwrap();
    let (s, m) = create(&bytes, 0);
    ok(s);
    for (norm, cnorm) in [
        (EmbedNorm::Raw, 0),
        (EmbedNorm::L2, 1),
        (EmbedNorm::L2Scaled, 2),
    ] {
        for (res, cres) in [(EmbedResolution::Native, 0), (EmbedResolution::Input, 1)] {
            let o = EmbedOptions {
                size: Some(64),
                norm,
                resolution: res,
            };
            let want = model.embed_image(&view, &o).unwrap();
            let [_, d, h, w] = want.dims();
            let want = want.to_data().convert::<f32>().try_to_vec::<f32>().unwrap();
            for dtype in [0u32, 1] {
                for layout in [0u32, 1] {
                    let mut p = lseg_embed_params_default();
                    p.size = 64;
                    p.norm = cnorm;
                    p.resolution = cres;
                    p.dtype = dtype;
                    p.layout = layout;
                    let (mut sd, mut sh, mut sw, mut sb) = (0, 0, 0, 0);
                    ok(unsafe {
                        lseg_embed_shape(
                            m, W as u32, H as u32, &p, &mut sd, &mut sh, &mut sw, &mut sb,
                        )
                    });
                    let esize = if dtype == 1 { 2 } else { 4 };
                    assert_eq!((sd, sh, sw, sb), (d, h, w, d * h * w * esize));
                    let mut buf = vec![0u8; sb];
                    // One byte short: BUFFER_TOO_SMALL, nothing written.
                    let s = unsafe {
                        lseg_embed(
                            m,
                            &c_image(&img),
                            &p,
                            buf.as_mut_ptr() as *mut c_void,
                            sb - 1,
                        )
                    };
                    assert_eq!(s, lseg_status::LSEG_ERR_BUFFER_TOO_SMALL);
                    assert!(buf.iter().all(|&b| b == 0));
                    ok(unsafe {
                        lseg_embed(m, &c_image(&img), &p, buf.as_mut_ptr() as *mut c_void, sb)
                    });
                    let got: Vec<f32> = if dtype == 1 {
                        buf.chunks_exact(2)
                            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                            .collect()
                    } else {
                        buf.chunks_exact(4)
                            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                            .collect()
                    };
                    for c in 0..d {
                        for i in 0..h * w {
                            let g = if layout == 1 {
                                got[i * d + c]
                            } else {
                                got[c * h * w + i]
                            };
                            let r = want[c * h * w + i];
                            let r = if dtype == 1 {
                                half::f16::from_f32(r).to_f32()
                            } else {
                                r
                            };
                            assert_eq!(g.to_bits(), r.to_bits(), "{norm:?} {res:?} {dtype}");
                        }
                    }
                }
            }
        }
    }
    lseg_free(m);
}

#[test]
fn handles_are_checked_and_double_free_is_harmless() {
    let bytes = model_bytes();
    let (s, m) = create(&bytes, 0);
    ok(s);
    let (s, l) = encode(m, &LABELS);
    ok(s);
    // A labels handle is not a model handle and vice versa; garbage is detected.
    assert_eq!(lseg_model_embed_dim(l as *const lseg_model), 0);
    assert!(
        last_error().contains("not a live model handle"),
        "{}",
        last_error()
    );
    assert_eq!(lseg_labels_count(m as *const lseg_labels), 0);
    assert_eq!(lseg_model_embed_dim(8 as *const lseg_model), 0);
    // Labels of another model are refused.
    let (s, m2) = create(&bytes, 0);
    ok(s);
    let img = test_image();
    let p = lseg_segment_params_default();
    let (s, _) = c_segment(m2, l, &c_image(&img), &p, 5);
    assert_eq!(s, lseg_status::LSEG_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("another model"), "{}", last_error());
    // Labels outlive their model; a freed model is refused, a second free is ignored.
    lseg_free(m);
    assert_eq!(lseg_labels_count(l), 5);
    let (s, _) = c_segment(m, l, &c_image(&img), &p, 5);
    assert_eq!(s, lseg_status::LSEG_ERR_INVALID_ARGUMENT);
    lseg_free(m);
    assert!(last_error().contains("freed twice"), "{}", last_error());
    lseg_labels_free(l);
    lseg_labels_free(l);
    assert!(last_error().contains("freed twice"), "{}", last_error());
    lseg_free(null_mut());
    lseg_labels_free(null_mut());
    lseg_free(m2);
}

unsafe extern "C" fn cancel_after_two(done: usize, total: usize, ud: *mut c_void) -> bool {
    let calls = unsafe { &mut *(ud as *mut Vec<(usize, usize)>) };
    calls.push((done, total));
    calls.len() < 2
}

#[test]
fn progress_reports_and_cancels() {
    let bytes = model_bytes();
    let (s, m) = create(&bytes, 0);
    ok(s);
    let (s, l) = encode(m, &LABELS);
    ok(s);
    let img = test_image();
    let scales = ms_mode().scales;
    let mut calls: Vec<(usize, usize)> = Vec::new();
    let mut p = lseg_segment_params_default();
    p.mode = lseg_mode::MultiScale as u32;
    p.base_size = 80;
    p.crop_size = 64;
    p.scales = scales.as_ptr();
    p.n_scales = scales.len();
    p.progress = Some(cancel_after_two);
    p.user_data = &mut calls as *mut _ as *mut c_void;
    let (s, o) = c_segment(m, l, &c_image(&img), &p, 5);
    assert_eq!(s, lseg_status::LSEG_ERR_CANCELLED, "{}", last_error());
    assert!(o.labels.iter().all(|&v| v == 0xffff), "written on failure");
    assert!(o.conf.iter().all(|v| v.is_nan()), "written on failure");
    assert_eq!(calls.len(), 2);
    assert!(calls[0].1 >= 2 && calls[1].0 == 2 * calls[0].0);
    lseg_labels_free(l);
    lseg_free(m);
}

#[test]
fn backends_not_compiled_or_absent_are_clear_errors() {
    let bytes = model_bytes();
    assert!(lseg_backend_is_compiled(0));
    assert!(!lseg_backend_is_compiled(99));
    for (cb, b) in [
        (1, Backend::Flex),
        (2, Backend::Ndarray),
        (3, Backend::TchCpu),
    ] {
        assert_eq!(lseg_backend_is_compiled(cb), b.is_compiled());
        let (s, m) = create(&bytes, cb);
        if b.is_compiled() {
            ok(s);
            lseg_free(m);
        } else {
            assert_eq!(s, lseg_status::LSEG_ERR_BACKEND_UNAVAILABLE);
            assert!(last_error().contains("not compiled"), "{}", last_error());
        }
    }
    // CUDA: unavailable unless a device is there.
    if lseg_cuda_device_count() == 0 {
        let (s, _) = create(&bytes, 4);
        assert_eq!(
            s,
            lseg_status::LSEG_ERR_BACKEND_UNAVAILABLE,
            "{}",
            last_error()
        );
    }
    // ndarray cannot hold f16.
    if Backend::Ndarray.is_compiled() {
        let mut p = lseg_model_params_default();
        p.backend = 2;
        p.dtype = 1;
        p.weights_data = bytes.as_ptr() as *const c_void;
        p.weights_size = bytes.len();
        let mut m = null_mut();
        let s = unsafe { lseg_create(&p, &mut m) };
        assert_eq!(s, lseg_status::LSEG_ERR_BACKEND_UNAVAILABLE);
        assert!(m.is_null());
    }
}

#[test]
fn create_checks_its_params() {
    let bytes = model_bytes();
    let mut m = null_mut();
    let bad = |f: &dyn Fn(&mut lseg_model_params), want: lseg_status, msg: &str| {
        let mut p = lseg_model_params_default();
        p.weights_data = bytes.as_ptr() as *const c_void;
        p.weights_size = bytes.len();
        f(&mut p);
        let mut m = null_mut();
        let s = unsafe { lseg_create(&p, &mut m) };
        assert_eq!(s, want, "{msg}: {}", last_error());
        assert!(last_error().contains(msg), "{}", last_error());
        assert!(m.is_null());
    };
    let inv = lseg_status::LSEG_ERR_INVALID_ARGUMENT;
    bad(&|p| p.struct_size = 8, inv, "struct_size");
    bad(&|p| p.backend = 7, inv, "backend");
    bad(&|p| p.dtype = 3, inv, "dtype");
    bad(&|p| p.device_index = 1, inv, "device_index");
    bad(&|p| p.n_threads = 1 << 20, inv, "n_threads");
    bad(&|p| p.weights_size = 0, inv, "weights_size");
    bad(&|p| p.weights_data = null(), inv, "no weights");
    bad(&|p| p.weights_path = c"x.safetensors".as_ptr(), inv, "both");
    bad(
        &|p| {
            p.weights_data = null();
            p.weights_size = 0;
            p.weights_path = c"/nonexistent/x.safetensors".as_ptr();
        },
        lseg_status::LSEG_ERR_IO,
        "/nonexistent/x.safetensors",
    );
    bad(
        &|p| p.weights_size = bytes.len() / 2,
        lseg_status::LSEG_ERR_INVALID_WEIGHTS,
        "",
    );
    bad(
        &|p| p.config_json = c"{\"not\": 1}".as_ptr(),
        lseg_status::LSEG_ERR_CONFIG,
        "",
    );
    let s = unsafe { lseg_create(null(), &mut m) };
    assert_eq!(s, inv);
    let p = lseg_model_params_default();
    let s = unsafe { lseg_create(&p, null_mut()) };
    assert_eq!(s, inv);
    assert!(last_error().contains("out_model"));
}

#[test]
fn soname_follows_the_abi_version() {
    let build = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/build.rs")).unwrap();
    assert!(build.contains(&format!("liblseg.so.{LSEG_ABI_VERSION}")));
    assert_eq!(lseg_abi_version(), LSEG_ABI_VERSION);
    assert_eq!(
        st(lseg_status::LSEG_ERR_BUFFER_TOO_SMALL),
        "LSEG_ERR_BUFFER_TOO_SMALL"
    );
    let unknown = unsafe { CStr::from_ptr(lseg_status_name(1000)) };
    assert_eq!(unknown.to_str().unwrap(), "LSEG_UNKNOWN_STATUS");
}

#[test]
fn every_enum_value_decodes_and_the_next_one_does_not() {
    fn check<T: Copy + TryFrom<u32, Error = u32>>(all: &[T], value: impl Fn(T) -> u32) {
        for (i, &v) in all.iter().enumerate() {
            assert_eq!(value(v), i as u32, "values are 0..N in order");
            assert!(T::try_from(i as u32).is_ok());
        }
        assert_eq!(T::try_from(all.len() as u32).err(), Some(all.len() as u32));
    }
    check(lseg_backend::ALL, |v| v as u32);
    check(lseg_dtype::ALL, |v| v as u32);
    check(lseg_pixel_format::ALL, |v| v as u32);
    check(lseg_mode::ALL, |v| v as u32);
    check(lseg_embed_norm::ALL, |v| v as u32);
    check(lseg_embed_resolution::ALL, |v| v as u32);
    check(lseg_layout::ALL, |v| v as u32);
    for &s in lseg_status::ALL {
        let name = unsafe { CStr::from_ptr(lseg_status_name(s as i32)) };
        assert_eq!(name, s.name());
        assert!(name.to_str().unwrap().starts_with("LSEG_"));
    }
    assert_eq!(
        lseg_status::ALL.len(),
        lseg_status::LSEG_ERR_INTERNAL as usize + 1
    );
    // The message of an out-of-range value names the field and the constants.
    let e = lseg_pixel_format::decode(9, "image->format").err().unwrap();
    assert_eq!(e.status, lseg_status::LSEG_ERR_INVALID_ARGUMENT);
    assert_eq!(
        e.msg,
        "`image->format` is 9, not one of LSEG_PIXEL_FORMAT_* (0..=4)"
    );
}

#[test]
fn version_is_the_crate_version() {
    let v = unsafe { CStr::from_ptr(lseg_version()) };
    assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}

#[test]
fn limits_are_the_library_rules() {
    use lseg::limits;
    assert_eq!(LSEG_MAX_IMAGE_SIDE as usize, limits::MAX_IMAGE_SIDE);
    assert_eq!(LSEG_MAX_LABELS as usize, limits::MAX_LABELS);
    assert_eq!(LSEG_MAX_LABEL_BYTES as usize, limits::MAX_LABEL_BYTES);
    assert_eq!(LSEG_MAX_SCALES as usize, limits::MAX_SCALES);
    assert_eq!(LSEG_MAX_WEIGHTS_BYTES, limits::MAX_WEIGHTS_BYTES);
}

#[test]
fn a_label_over_the_byte_limit_is_a_label_error() {
    let (s, m) = create(&model_bytes(), 0);
    ok(s);
    let long = "a ".repeat(LSEG_MAX_LABEL_BYTES as usize / 2) + "b";
    for truncate in [0, LSEG_LABELS_TRUNCATE] {
        let c = CString::new(long.clone()).unwrap();
        let ptrs = [c.as_ptr()];
        let mut l = null_mut();
        let s = unsafe { lseg_encode_labels_ex(m, ptrs.as_ptr(), 1, truncate, &mut l) };
        assert_eq!(s, lseg_status::LSEG_ERR_LABEL);
        assert!(last_error().contains("4097 bytes"), "{}", last_error());
    }
    lseg_free(m);
}

#[test]
fn label_colours_are_the_library_palette() {
    for label in [0u32, 1, 19, 20, 255, 65534] {
        let mut rgb = [0u8; 3];
        assert_eq!(
            unsafe { lseg_label_color(label, rgb.as_mut_ptr()) },
            lseg_status::LSEG_OK
        );
        assert_eq!(rgb, lseg::palette::colour(label as usize));
    }
    assert_eq!(
        unsafe { lseg_label_color(0, null_mut()) },
        lseg_status::LSEG_ERR_INVALID_ARGUMENT
    );
    assert!(last_error().contains("rgb"), "{}", last_error());
}

#[test]
fn segment_batch_equals_segment_per_image_and_checks_every_element() {
    let bytes = model_bytes();
    let (s, m) = create(&bytes, 0);
    ok(s);
    let (s, l) = encode(m, &LABELS);
    ok(s);
    let img = test_image();
    // Two images of one size (batched together) and one of half the height.
    let half = &img[..W * (H / 2) * 3];
    let mut small = c_image(half);
    small.height = (H / 2) as u32;
    let images = [c_image(&img), small, c_image(&img)];
    let sizes = [W * H, W * (H / 2), W * H];
    let mut p = lseg_segment_params_default();
    p.size = 96;
    let fresh = || -> Vec<(Vec<u16>, Vec<f32>)> {
        sizes
            .iter()
            .map(|&hw| (vec![0xffff; hw], vec![f32::NAN; 5 * hw]))
            .collect()
    };
    let outputs = |bufs: &mut [(Vec<u16>, Vec<f32>)]| -> Vec<lseg_segment_outputs> {
        bufs.iter_mut()
            .map(|(lm, sc)| {
                let mut o = lseg_segment_outputs_default();
                o.label_map = lm.as_mut_ptr();
                o.label_map_len = lm.len();
                o.scores = sc.as_mut_ptr();
                o.scores_len = sc.len();
                o
            })
            .collect()
    };
    let mut bufs = fresh();
    let outs = outputs(&mut bufs);
    ok(unsafe { lseg_segment_batch(m, l, images.as_ptr(), 3, &p, outs.as_ptr()) });
    for (i, img) in images.iter().enumerate() {
        let mut lm = vec![0xffffu16; sizes[i]];
        let mut sc = vec![f32::NAN; 5 * sizes[i]];
        let mut o = lseg_segment_outputs_default();
        (o.label_map, o.label_map_len) = (lm.as_mut_ptr(), lm.len());
        (o.scores, o.scores_len) = (sc.as_mut_ptr(), sc.len());
        ok(unsafe { lseg_segment(m, l, img, &p, &o) });
        assert_eq!(bufs[i].0, lm, "image {i}");
        let err = bufs[i]
            .1
            .iter()
            .zip(&sc)
            .fold(0f32, |e, (a, b)| e.max((a - b).abs()));
        assert!(err < 1e-4, "image {i}: scores differ by {err}");
    }
    // Every element is checked before any work; nothing is written on failure.
    let mut bufs = fresh();
    let mut outs = outputs(&mut bufs);
    outs[1].label_map_len -= 1;
    let s = unsafe { lseg_segment_batch(m, l, images.as_ptr(), 3, &p, outs.as_ptr()) };
    assert_eq!(s, lseg_status::LSEG_ERR_BUFFER_TOO_SMALL);
    assert!(
        last_error().contains("outputs[1]->label_map"),
        "{}",
        last_error()
    );
    assert!(bufs.iter().all(|(lm, _)| lm.iter().all(|&v| v == 0xffff)));
    let outs = outputs(&mut bufs);
    let mut bad = images;
    bad[2].format = 99;
    let s = unsafe { lseg_segment_batch(m, l, bad.as_ptr(), 3, &p, outs.as_ptr()) };
    assert_eq!(s, lseg_status::LSEG_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("images[2]"), "{}", last_error());
    let s = unsafe { lseg_segment_batch(m, l, images.as_ptr(), 0, &p, outs.as_ptr()) };
    assert_eq!(s, lseg_status::LSEG_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("n_images"), "{}", last_error());
    let s = unsafe { lseg_segment_batch(m, l, null(), 3, &p, outs.as_ptr()) };
    assert_eq!(s, lseg_status::LSEG_ERR_INVALID_ARGUMENT);
    let s = unsafe { lseg_segment_batch(null(), l, images.as_ptr(), 3, &p, outs.as_ptr()) };
    assert_eq!(s, lseg_status::LSEG_ERR_INVALID_ARGUMENT);
    assert!(bufs.iter().all(|(lm, _)| lm.iter().all(|&v| v == 0xffff)));
    lseg_labels_free(l);
    lseg_free(m);
}
