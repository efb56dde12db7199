//! Run-time choice of the compute backend and precision.

use std::fmt;
use std::str::FromStr;

use burn::tensor::{DType, Device};

use crate::error::{Error, Result};

/// A compute backend compiled into this build (cargo features `flex`, `ndarray`, `tch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// burn-flex, pure-Rust CPU (the default: fastest pure-Rust backend, holds f16/bf16).
    Flex,
    /// burn-ndarray, pure-Rust CPU (f32 only).
    Ndarray,
    /// libtorch on the CPU.
    TchCpu,
    /// libtorch on a CUDA device.
    TchCuda(usize),
}

impl Backend {
    /// The default backend of this build: flex, else ndarray, else libtorch CPU.
    pub fn default_cpu() -> Result<Self> {
        let all = Self::compiled();
        all.first()
            .copied()
            .ok_or_else(|| Error::Backend("no backend compiled in".into()))
    }

    /// Backends compiled into this build, in order of preference.
    pub fn compiled() -> Vec<Self> {
        let mut v = Vec::new();
        if cfg!(feature = "flex") {
            v.push(Self::Flex);
        }
        if cfg!(feature = "ndarray") {
            v.push(Self::Ndarray);
        }
        if cfg!(feature = "tch") {
            v.push(Self::TchCpu);
        }
        v
    }

    /// Whether this backend is compiled into the build.
    pub fn is_compiled(&self) -> bool {
        match self {
            Self::Flex => cfg!(feature = "flex"),
            Self::Ndarray => cfg!(feature = "ndarray"),
            Self::TchCpu | Self::TchCuda(_) => cfg!(feature = "tch"),
        }
    }

    /// The burn device; errors if the backend is not compiled in or not usable here.
    #[allow(deprecated, unreachable_code)]
    pub fn device(&self) -> Result<Device> {
        if !self.is_compiled() {
            return Err(Error::Backend(format!(
                "backend `{self}` is not compiled into this build (cargo feature `{}`)",
                self.feature()
            )));
        }
        match *self {
            #[cfg(feature = "flex")]
            Self::Flex => Ok(Device::flex()),
            #[cfg(feature = "ndarray")]
            Self::Ndarray => Ok(Device::ndarray()),
            #[cfg(feature = "tch")]
            Self::TchCpu => Ok(Device::libtorch()),
            #[cfg(feature = "tch")]
            Self::TchCuda(i) => {
                let n = Self::cuda_device_count();
                if i >= n {
                    return Err(Error::Backend(format!(
                        "CUDA device {i} requested, {n} available to libtorch"
                    )));
                }
                Ok(Device::libtorch_cuda(i))
            }
            #[allow(unreachable_patterns)]
            _ => unreachable!("checked by is_compiled"),
        }
    }

    /// Number of CUDA devices libtorch sees (0 without the `tch` feature).
    pub fn cuda_device_count() -> usize {
        #[cfg(feature = "tch")]
        let n = crate::tch_support::cuda_device_count();
        #[cfg(not(feature = "tch"))]
        let n = 0;
        n
    }

    /// Whether the backend can hold the dtype.
    pub fn supports(&self, p: Precision) -> bool {
        !(matches!(self, Self::Ndarray) && p != Precision::F32)
    }

    fn feature(&self) -> &'static str {
        match self {
            Self::Flex => "flex",
            Self::Ndarray => "ndarray",
            Self::TchCpu | Self::TchCuda(_) => "tch",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flex => write!(f, "flex"),
            Self::Ndarray => write!(f, "ndarray"),
            Self::TchCpu => write!(f, "tch"),
            Self::TchCuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

impl FromStr for Backend {
    type Err = Error;
    /// `flex`, `ndarray`, `tch` (libtorch CPU), `cuda` or `cuda:N` (libtorch CUDA).
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "flex" => Ok(Self::Flex),
            "ndarray" => Ok(Self::Ndarray),
            "tch" | "tch-cpu" | "libtorch" => Ok(Self::TchCpu),
            "cuda" => Ok(Self::TchCuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|i| i.parse().ok())
                .map(Self::TchCuda)
                .ok_or_else(|| {
                    Error::Backend(format!(
                        "unknown backend `{s}` (expected flex, ndarray, tch, cuda or cuda:N)"
                    ))
                }),
        }
    }
}

/// Precision of the weights and of the network's compute. Logits and the label product are
/// always float32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// float32 (reference parity).
    #[default]
    F32,
    /// float16.
    F16,
    /// bfloat16.
    BF16,
}

impl Precision {
    /// The burn element type of tensors in this precision.
    pub fn dtype(self) -> DType {
        match self {
            Self::F32 => DType::F32,
            Self::F16 => DType::F16,
            Self::BF16 => DType::BF16,
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::F32 => "f32",
            Self::F16 => "f16",
            Self::BF16 => "bf16",
        })
    }
}

impl FromStr for Precision {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "f32" | "float32" => Ok(Self::F32),
            "f16" | "float16" | "half" => Ok(Self::F16),
            "bf16" | "bfloat16" => Ok(Self::BF16),
            _ => Err(Error::Backend(format!(
                "unknown dtype `{s}` (expected f32, f16 or bf16)"
            ))),
        }
    }
}

/// Set the number of CPU threads of the pure-Rust backends (rayon's global pool) and of
/// libtorch. The rayon part only takes effect before the first parallel operation.
pub fn set_num_threads(n: usize) {
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global();
    #[cfg(feature = "tch")]
    crate::tch_support::set_num_threads(n);
}
