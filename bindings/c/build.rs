//! On Linux, give the cdylib the soname `liblseg.so.<LSEG_ABI_VERSION>` (see src/lib.rs). With
//! lseg's `tch` feature, embed libtorch's directory as an rpath (no LD_LIBRARY_PATH needed).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if let Ok(lib) = std::env::var("DEP_LSEG_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        // Keep in step with LSEG_ABI_VERSION (checked by the unit tests).
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,liblseg.so.1");
    }
}
