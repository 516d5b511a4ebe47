//! The host kernel's word on a BTF blob: libbpf parses it (`btf__new`), then `BPF_BTF_LOAD`.
//! Used by the kernel-load oracle and by `btfsmith btf load`; the kernel's verifier is the
//! authority on what BTF it takes, and its log is kept on rejection.

use std::ffi::c_void;

/// Why a blob did not load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// libbpf's own parser refused it.
    Libbpf(i32),
    /// The kernel refused it; with its verifier log.
    Kernel {
        /// errno.
        errno: i32,
        /// The kernel's BTF verifier log (last lines).
        log: String,
    },
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Libbpf(e) => write!(
                f,
                "libbpf btf__new: {}",
                std::io::Error::from_raw_os_error(*e)
            ),
            LoadError::Kernel { errno, log } => write!(
                f,
                "BPF_BTF_LOAD: {}\n{log}",
                std::io::Error::from_raw_os_error(*errno)
            ),
        }
    }
}

/// Parses `raw` with libbpf, then loads it into the running kernel and closes the fd.
pub fn load(raw: &[u8]) -> Result<(), LoadError> {
    let len = u32::try_from(raw.len()).map_err(|_| LoadError::Libbpf(libc::E2BIG))?;
    // SAFETY: libbpf copies `raw` (len bytes, valid for the call) and returns an owned object or
    // an error pointer, which libbpf_get_error decodes; the object is freed once.
    unsafe {
        let btf = libbpf_sys::btf__new(raw.as_ptr().cast::<c_void>(), len);
        let err = libbpf_sys::libbpf_get_error(btf.cast::<c_void>() as *const c_void);
        if err != 0 {
            return Err(LoadError::Libbpf((-err) as i32));
        }
        libbpf_sys::btf__free(btf);
    }
    // First without a log: with one, a large blob (vmlinux) overflows any sane buffer and the
    // kernel then fails the load with ENOSPC even though the BTF is fine.
    let errno = match kernel_load(raw, None) {
        None => return Ok(()),
        Some(e) => e,
    };
    // Refused: again with a log for the reason (the kernel keeps the log's tail when it does
    // not fit, which is where the reason is). Accepted the second time (not expected) is not a
    // rejection either.
    let mut log = vec![0u8; 1 << 20];
    if kernel_load(raw, Some(&mut log)).is_none() {
        return Ok(());
    }
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    let text = String::from_utf8_lossy(&log[..end]);
    let tail: Vec<&str> = text.lines().rev().take(8).collect();
    // The first attempt's errno: the second one's can be ENOSPC from the log alone.
    Err(LoadError::Kernel {
        errno,
        log: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
    })
}

/// One `BPF_BTF_LOAD` of `raw`, with the verifier log in `log` when given; the fd is closed.
/// Returns the errno when the kernel refused it.
fn kernel_load(raw: &[u8], log: Option<&mut [u8]>) -> Option<i32> {
    // SAFETY: opts is zero-initialised with its size set, as libbpf's OPTS convention requires;
    // raw and the log buffer (log_size bytes) are live for the duration of the call.
    let fd = unsafe {
        let mut opts: libbpf_sys::bpf_btf_load_opts = std::mem::zeroed();
        opts.sz = std::mem::size_of::<libbpf_sys::bpf_btf_load_opts>() as _;
        if let Some(log) = log {
            opts.log_buf = log.as_mut_ptr().cast();
            opts.log_size = log.len() as u32;
            opts.log_level = 1;
        }
        libbpf_sys::bpf_btf_load(raw.as_ptr().cast::<c_void>(), raw.len() as _, &mut opts)
    };
    if fd < 0 {
        return Some(-fd);
    }
    // SAFETY: fd is a file descriptor the kernel just returned to us and nobody else holds.
    unsafe {
        libc::close(fd);
    }
    None
}
