//! btfsmith's guest agent: runs as part of the initramfs /init inside the qemu guest.
//!
//! It reads a job file written by the host (`harness/src/vm/`), and for each job:
//! 1. loads the module (`finit_module`), finds its BTF object (`/sys/kernel/btf/<module>`);
//! 2. records where the module's sections are (`/sys/module/<module>/sections/*`) and its
//!    kallsyms entries, so that the host can map a traced address back to a symbol of the `.ko`;
//! 3. in rounds where every FUNC name is unique (two programs on one address would collide),
//!    loads the generic fentry probe once per FUNC with `attach_btf_id` = the FUNC's id and
//!    `attach_btf_obj_fd` = the module's BTF, attaches it with the FUNC id as cookie, fires the
//!    module's trigger, and collects every hit from the
//!    ring buffer: `bpf_get_func_ip`, `bpf_get_func_arg_cnt`, the argument slots (up to 12);
//! 4. leaves the module loaded and its probes attached (each job's module has its own name):
//!    detaching waits for an RCU-tasks grace period per probe, ~0.1 s under TCG. A probe is
//!    detached only before a later round attaches to the same name; `BTFSMITH_RMMOD=1` in the
//!    guest's environment detaches everything and unloads each module instead.
//!
//! The trigger is `/sys/kernel/debug/<module>/trigger` (or `/sys/kernel/debug/btfsmith/trigger`).
//!
//! Job file (one record per line, fields separated by single spaces):
//! ```text
//! module <job-id> <path of the .ko> <module name> [isolate]
//! func <btf id> <name> [exit]
//! vfunc <btf id> <name>
//! ```
//! `exit` attaches the fexit probe instead of the fentry one: it records the arguments too, and
//! the return value (the host asks for it where it knows what the function returned).
//! A `vfunc` is a FUNC of the vmlinux BTF (attached with `attach_btf_obj_fd` 0), fired by the
//! same trigger: the host compares what its probe reads with what the module's trigger logs it
//! passed (`btfsmith audit`'s proof in the running kernel). Its result says `"vmlinux": true`.
//! `isolate` attaches one FUNC per round (the host asks for it after a crash, to learn which
//! FUNC's probe the guest died with).
//!
//! Output (to the file given as the second argument, normally /dev/ttyS1), one line each:
//! `BTFSMITH-JOB {json}`, `BTFSMITH-TRIGGER {json}`, `BTFSMITH-ROUND {json}` (after each
//! trigger: timings, and the text of the module's debugfs `returns` file when it has one — a
//! generated module's log of what each of its functions returned during that trigger) (the FUNCs whose probes are attached, sent
//! before the trigger fires, so that a crash can be blamed on them), `BTFSMITH-RESULT {json}`,
//! and `BTFSMITH-DONE` at the end. The trigger line also goes to the kernel log (`/dev/kmsg`), so
//! the console shows it just before an oops.

use libbpf_rs::libbpf_sys as sys;
use libbpf_rs::MapCore;
use serde_json::json;
use std::collections::{BTreeMap, HashSet};
use std::ffi::CString;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::time::Instant;

const PROBE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/probe.bpf.o"));
const TRIGGER: &str = "/sys/kernel/debug/btfsmith/trigger";
const MAX_ARGS: usize = 12;
/// Hits kept per FUNC; the rest are counted only.
const MAX_EVENTS: usize = 256;

#[derive(Debug)]
struct Job {
    id: String,
    ko: String,
    module: String,
    /// (BTF id, name, in the vmlinux BTF rather than the module's).
    funcs: Vec<(u32, String, bool)>,
    /// BTF ids probed at fexit.
    exit: HashSet<u32>,
    /// One FUNC per round.
    isolate: bool,
}

fn parse_jobs(text: &str) -> Vec<Job> {
    let mut jobs: Vec<Job> = Vec::new();
    for line in text.lines() {
        let mut w = line.split(' ');
        match w.next() {
            Some("module") => {
                let (Some(id), Some(ko), Some(module)) = (w.next(), w.next(), w.next()) else { continue };
                let isolate = w.next() == Some("isolate");
                jobs.push(Job { id: id.into(), ko: ko.into(), module: module.into(), funcs: Vec::new(), exit: HashSet::new(), isolate });
            }
            Some(kind @ ("func" | "vfunc")) => {
                let (Some(id), Some(name)) = (w.next().and_then(|s| s.parse().ok()), w.next()) else { continue };
                if let Some(j) = jobs.last_mut() {
                    j.funcs.push((id, name.to_string(), kind == "vfunc"));
                    if w.next() == Some("exit") {
                        j.exit.insert(id);
                    }
                }
            }
            _ => {}
        }
    }
    jobs
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Event {
    cookie: u64,
    ip: u64,
    nargs: i64,
    args: [u64; MAX_ARGS],
    ret: u64,
    /// 1 when recorded at fexit.
    exit: u64,
}

fn errno_text(code: i32) -> String {
    format!("{} ({})", std::io::Error::from_raw_os_error(code.abs()), code.abs())
}

fn insmod(path: &str) -> Result<(), String> {
    let f = std::fs::File::open(path).map_err(|e| format!("open {path}: {e}"))?;
    // SAFETY: finit_module(2) reads the file behind a valid fd; the params string is a valid C
    // string.
    let r = unsafe { libc::syscall(libc::SYS_finit_module, f.as_raw_fd(), c"".as_ptr(), 0) };
    if r != 0 {
        return Err(format!("finit_module: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

fn rmmod(name: &str) -> Result<(), String> {
    let c = CString::new(name).map_err(|e| e.to_string())?;
    for _ in 0..50 {
        // SAFETY: delete_module(2) with a valid C string.
        let r = unsafe { libc::syscall(libc::SYS_delete_module, c.as_ptr(), libc::O_NONBLOCK) };
        if r == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EAGAIN) && e.raw_os_error() != Some(libc::EBUSY) {
            return Err(format!("delete_module: {e}"));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Err("delete_module: still busy".into())
}

/// The fd of the kernel BTF object called `name`, and its id. The search starts after
/// `after`: BTF ids only grow, so the BTF of a module loaded after the one whose id is `after`
/// comes later, and the search does not walk every module loaded before it again (with ~50
/// modules in a boot that walk was ~0.1 s of syscalls). The caller retries from 0 when that
/// finds nothing.
fn module_btf_fd(name: &str, after: u32) -> Option<(i32, u32)> {
    let mut id: u32 = after;
    loop {
        let mut next = 0u32;
        // SAFETY: plain syscall wrappers with valid out-pointers.
        if unsafe { sys::bpf_btf_get_next_id(id, &mut next) } != 0 {
            return None;
        }
        id = next;
        let fd = unsafe { sys::bpf_btf_get_fd_by_id(id) };
        if fd < 0 {
            continue;
        }
        let mut buf = [0u8; 64];
        // SAFETY: bpf_btf_info is plain old data; zero is a valid value.
        let mut info: sys::bpf_btf_info = unsafe { std::mem::zeroed() };
        info.name = buf.as_mut_ptr() as u64;
        info.name_len = buf.len() as u32;
        let mut len = std::mem::size_of::<sys::bpf_btf_info>() as u32;
        // SAFETY: info and buf outlive the call; len is info's size.
        let r = unsafe { sys::bpf_btf_get_info_by_fd(fd, &mut info, &mut len) };
        let n = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        if r == 0 && info.kernel_btf != 0 && &buf[..n] == name.as_bytes() {
            return Some((fd, id));
        }
        // SAFETY: closing an fd we own.
        unsafe { libc::close(fd) };
    }
}

fn sections(module: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let dir = format!("/sys/module/{module}/sections");
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Ok(v) = std::fs::read_to_string(e.path()) {
                out.insert(name, v.trim().to_string());
            }
        }
    }
    out
}

fn kallsyms(module: &str) -> Vec<(String, String, String)> {
    let tag = format!("[{module}]");
    let text = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
    text.lines()
        .filter(|l| l.ends_with(&tag))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.to_string(), w.next()?.to_string(), w.next()?.to_string()))
        })
        .collect()
}

/// Kernel log lines written since `from` (the module's BTF validation errors land there).
struct Kmsg(Option<std::fs::File>);

impl Kmsg {
    fn open() -> Kmsg {
        use std::os::unix::fs::OpenOptionsExt;
        let f = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open("/dev/kmsg").ok();
        if let Some(f) = &f {
            // SAFETY: lseek on an fd we own.
            unsafe { libc::lseek(f.as_raw_fd(), 0, libc::SEEK_END) };
        }
        Kmsg(f)
    }
    fn drain(&mut self) -> Vec<String> {
        use std::io::Read;
        let mut out = Vec::new();
        let Some(f) = &mut self.0 else { return out };
        let mut buf = vec![0u8; 8192];
        loop {
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let rec = String::from_utf8_lossy(&buf[..n]);
                    let msg = rec.split_once(';').map_or(&*rec, |(_, m)| m);
                    out.push(msg.lines().next().unwrap_or("").to_string());
                }
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => continue,
                Err(_) => break,
            }
        }
        out
    }
}

struct Probe {
    entry: Vec<sys::bpf_insn>,
    exit: Vec<sys::bpf_insn>,
    /// The verifier's log of a refused load: one buffer for every load (a fresh megabyte per
    /// FUNC was an mmap and munmap each).
    log: std::cell::RefCell<Vec<u8>>,
}

fn attach_type(exit: bool) -> sys::bpf_attach_type {
    if exit {
        sys::BPF_TRACE_FEXIT
    } else {
        sys::BPF_TRACE_FENTRY
    }
}

impl Probe {
    /// Loads one instance (fentry, or fexit when `exit`) attached to `btf_id` of `btf_fd`;
    /// returns the prog fd or the error.
    fn load(&self, btf_fd: i32, btf_id: u32, exit: bool) -> Result<i32, String> {
        let insns = if exit { &self.exit } else { &self.entry };
        let mut log = self.log.borrow_mut();
        // A load that fails without writing a log must not show the previous failure's.
        log[0] = 0;
        // SAFETY: bpf_prog_load_opts is plain old data; zero is a valid value.
        let mut opts: sys::bpf_prog_load_opts = unsafe { std::mem::zeroed() };
        opts.sz = std::mem::size_of::<sys::bpf_prog_load_opts>() as _;
        opts.expected_attach_type = attach_type(exit);
        opts.attach_btf_id = btf_id;
        opts.attach_btf_obj_fd = btf_fd as u32;
        opts.log_buf = log.as_mut_ptr().cast();
        opts.log_size = log.len() as u32;
        opts.log_level = 0;
        // SAFETY: insns, opts and log outlive the call.
        let fd = unsafe {
            sys::bpf_prog_load(sys::BPF_PROG_TYPE_TRACING, c"btfsmith".as_ptr(), c"GPL".as_ptr(), insns.as_ptr(), insns.len() as _, &mut opts)
        };
        if fd < 0 {
            let n = log.iter().position(|&b| b == 0).unwrap_or(0);
            let text = String::from_utf8_lossy(&log[..n]);
            let tail: Vec<&str> = text.lines().rev().take(4).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(format!("{}: {}", errno_text(fd), tail.join(" | ")));
        }
        Ok(fd)
    }

    fn attach(prog_fd: i32, cookie: u64, exit: bool) -> Result<i32, String> {
        // SAFETY: plain old data; zero is valid.
        let mut opts: sys::bpf_link_create_opts = unsafe { std::mem::zeroed() };
        opts.sz = std::mem::size_of::<sys::bpf_link_create_opts>() as _;
        opts.__bindgen_anon_1.tracing.cookie = cookie;
        // SAFETY: opts outlives the call.
        let fd = unsafe { sys::bpf_link_create(prog_fd, 0, attach_type(exit), &opts) };
        if fd < 0 {
            return Err(errno_text(fd));
        }
        Ok(fd)
    }
}

fn emit(out: &mut dyn Write, tag: &str, v: &serde_json::Value) {
    let _ = writeln!(out, "{tag} {v}");
    let _ = out.flush();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let jobs_path = args.get(1).map_or("/jobs.txt", String::as_str);
    let out_path = args.get(2).map_or("/dev/ttyS1", String::as_str);
    let (mut out, out_fd): (Box<dyn Write>, i32) = match std::fs::OpenOptions::new().write(true).create(true).truncate(false).open(out_path) {
        Ok(f) => {
            let fd = f.as_raw_fd();
            (Box::new(std::io::BufWriter::new(f)), fd)
        }
        Err(e) => {
            eprintln!("btfsmith-guest: cannot open {out_path}: {e}; writing to stdout");
            (Box::new(std::io::stdout()), 1)
        }
    };
    let power_off = args.iter().any(|a| a == "--poweroff");
    let started = Instant::now();
    // Every probe that stays attached holds a link fd: lift the 1024-fd default.
    // SAFETY: setrlimit with a valid struct.
    unsafe {
        let lim = libc::rlimit { rlim_cur: 1 << 20, rlim_max: 1 << 20 };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
            let lim = libc::rlimit { rlim_cur: 65536, rlim_max: 65536 };
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
    let jobs = parse_jobs(&std::fs::read_to_string(jobs_path).unwrap_or_default());
    // /proc/kallsyms is slow to read under TCG; the host maps addresses through the sections.
    let want_kallsyms = std::env::var_os("BTFSMITH_KALLSYMS").is_some();
    let unload_modules = std::env::var_os("BTFSMITH_RMMOD").is_some();

    // Load the probes once, attached to any kernel function, to get their final instructions
    // (ring buffer fd filled in); every FUNC then gets its own copy of one of those.
    let mut builder = libbpf_rs::ObjectBuilder::default();
    let setup = (|| -> Result<(libbpf_rs::Object, Probe), String> {
        let mut open = builder.open_memory(PROBE).map_err(|e| format!("opening the probe: {e}"))?;
        for mut p in open.progs_mut() {
            p.set_attach_target(0, Some("vfs_read".into())).map_err(|e| format!("attach target: {e}"))?;
        }
        let obj = open.load().map_err(|e| format!("loading the probe: {e}"))?;
        let insns = |name: &str| obj.progs().find(|p| p.name() == name).map(|p| p.insns().to_vec()).ok_or(format!("no program {name} in the probe"));
        let probe = Probe { entry: insns("probe")?, exit: insns("probe_exit")?, log: std::cell::RefCell::new(vec![0u8; 1 << 20]) };
        Ok((obj, probe))
    })();
    let (obj, probe) = match setup {
        Ok(x) => x,
        Err(e) => {
            emit(&mut out, "BTFSMITH-FATAL", &json!({ "error": e }));
            let _ = writeln!(out, "BTFSMITH-DONE");
            return;
        }
    };
    let events_map = obj.maps().find(|m| m.name() == "events").expect("the probe has an events map");
    let collected: std::rc::Rc<std::cell::RefCell<Vec<Event>>> = Default::default();
    let sink = collected.clone();
    let mut rb = libbpf_rs::RingBufferBuilder::new();
    rb.add(&events_map, move |data: &[u8]| {
        if data.len() >= std::mem::size_of::<Event>() {
            // SAFETY: the probe submits exactly one `struct event`, which `Event` mirrors.
            let e = unsafe { std::ptr::read_unaligned(data.as_ptr().cast::<Event>()) };
            sink.borrow_mut().push(e);
        }
        0
    })
    .expect("ring buffer");
    let rb = rb.build().expect("ring buffer");
    emit(&mut out, "BTFSMITH-READY", &json!({ "ms": started.elapsed().as_millis() as u64, "jobs": jobs.len() }));

    // Attached probes (prog fd, link fd) that stay until power-off.
    let mut kept: Vec<(i32, i32)> = Vec::new();
    // The highest module BTF id found so far (where the next search starts).
    let mut last_btf_id = 0u32;
    for job in &jobs {
        let t0 = Instant::now();
        let mut kmsg = Kmsg::open();
        let load = insmod(&job.ko);
        let mut head = json!({ "job": job.id, "module": job.module });
        if let Err(e) = &load {
            head["insmod"] = json!(e);
            head["kmsg"] = json!(kmsg.drain());
            emit(&mut out, "BTFSMITH-JOB", &head);
            continue;
        }
        let t_insmod = t0.elapsed().as_millis() as u64;
        let found = module_btf_fd(&job.module, last_btf_id).or_else(|| module_btf_fd(&job.module, 0));
        if let Some((_, id)) = found {
            last_btf_id = last_btf_id.max(id);
        }
        let btf_fd = found.map(|(fd, _)| fd);
        let t_btf = t0.elapsed().as_millis() as u64;
        head["btf"] = json!(btf_fd.is_some());
        head["sections"] = json!(sections(&job.module));
        let t_sections = t0.elapsed().as_millis() as u64;
        if want_kallsyms {
            head["kallsyms"] = json!(kallsyms(&job.module));
        }
        head["kmsg"] = json!(kmsg.drain());
        head["t"] = json!({ "insmod": t_insmod, "btf": t_btf, "sections": t_sections, "kallsyms": t0.elapsed().as_millis() as u64 });
        emit(&mut out, "BTFSMITH-JOB", &head);
        if let Some(btf_fd) = btf_fd {
            kept.extend(run_funcs(job, btf_fd, &probe, &rb, &collected, &mut out, unload_modules));
            // SAFETY: closing an fd we own.
            unsafe { libc::close(btf_fd) };
        }
        let t_funcs = t0.elapsed().as_millis() as u64;
        // Unloading needs every probe detached first, and each detach waits for an RCU-tasks
        // grace period (~0.1 s under TCG): modules stay loaded unless asked (every job's module
        // has its own name), and the guest powers off at the end.
        let unload = if unload_modules { rmmod(&job.module) } else { Ok(()) };
        emit(&mut out, "BTFSMITH-JOBEND", &json!({ "job": job.id, "rmmod": unload.err(), "ms": t0.elapsed().as_millis() as u64, "funcs_done_ms": t_funcs, "kmsg": kmsg.drain() }));
    }
    emit(&mut out, "BTFSMITH-STATS", &json!({ "ms": started.elapsed().as_millis() as u64 }));
    let _ = writeln!(out, "BTFSMITH-DONE");
    let _ = out.flush();
    if power_off {
        // Exiting would close every link fd, and each detach waits for an RCU-tasks grace
        // period: with hundreds of probes that is a minute. Wait for the serial port to send
        // everything, then power off with the probes still attached.
        // SAFETY: tcdrain/sync/reboot take no pointers.
        unsafe {
            libc::tcdrain(out_fd);
            // On the console, next to the kernel's timestamps: how long power-off takes after this.
            if let Ok(mut k) = std::fs::OpenOptions::new().write(true).open("/dev/kmsg") {
                let _ = k.write_all(format!("<3>btfsmith-agent: output sent at {} ms, powering off\n", started.elapsed().as_millis()).as_bytes());
            }
            libc::sync();
            libc::reboot(libc::LINUX_REBOOT_CMD_POWER_OFF);
        }
    }
    drop(kept);
}

/// Says which FUNCs have a probe attached before the trigger fires: to the host (so that a
/// crash is blamed on them) and to the kernel log (so that the console shows it before an oops).
fn announce_trigger(out: &mut dyn Write, job: &Job, attached: &[&str], results: &BTreeMap<u32, serde_json::Value>) {
    let funcs: Vec<serde_json::Value> = results
        .iter()
        .filter(|(_, r)| r["status"] == "attached")
        .map(|(id, r)| json!({ "id": id, "name": r["name"] }))
        .collect();
    emit(out, "BTFSMITH-TRIGGER", &json!({ "job": job.id, "funcs": funcs }));
    let any_exit = results.values().any(|r| r["status"] == "attached" && r["exit"] == true);
    let probes = if any_exit { "fentry or fexit" } else { "fentry" };
    let mut line = format!("btfsmith-agent: job {} ({}): firing the trigger with {probes} on {} FUNC(s):", job.id, job.module, attached.len());
    for (i, name) in attached.iter().enumerate() {
        // /dev/kmsg takes records of up to ~1 KiB.
        if line.len() + name.len() > 900 {
            line.push_str(&format!(" ... ({} more)", attached.len() - i));
            break;
        }
        line.push(' ');
        line.push_str(name);
    }
    if let Ok(mut k) = std::fs::OpenOptions::new().write(true).open("/dev/kmsg") {
        // Level 3: the guest boots with `quiet`, which keeps lower-priority lines off the console.
        // One write(2) per record: /dev/kmsg makes a log line of each.
        let _ = k.write_all(format!("<3>{line}\n").as_bytes());
    }
}

fn run_funcs(
    job: &Job,
    btf_fd: i32,
    probe: &Probe,
    rb: &libbpf_rs::RingBuffer<'_>,
    collected: &std::rc::Rc<std::cell::RefCell<Vec<Event>>>,
    out: &mut dyn Write,
    detach_all: bool,
) -> Vec<(i32, i32)> {
    let trigger = {
        let own = format!("/sys/kernel/debug/{}/trigger", job.module);
        if std::path::Path::new(&own).exists() { own } else { TRIGGER.to_string() }
    };
    let returns = std::path::Path::new(&trigger).with_file_name("returns");
    let mut kept = Vec::new();
    // How many more rounds each name appears in: its probe must go before the next one comes.
    let mut later: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, n, _) in &job.funcs {
        *later.entry(n.as_str()).or_default() += 1;
    }
    // Rounds in which every name is unique: same-name FUNCs resolve to one address, and a
    // second trampoline on it would be refused (EBUSY), which says nothing about the BTF.
    let mut pending: Vec<&(u32, String, bool)> = job.funcs.iter().collect();
    while !pending.is_empty() {
        let mut seen = HashSet::new();
        let (round, rest): (Vec<_>, Vec<_>) = pending.into_iter().partition(|(_, n, _)| (!job.isolate || seen.is_empty()) && seen.insert(n.clone()));
        pending = rest;
        let t_round = Instant::now();
        let mut results: BTreeMap<u32, serde_json::Value> = BTreeMap::new();
        let mut fds = Vec::new();
        let (mut load_time, mut link_time) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
        for (id, name, vmlinux) in &round {
            let mut r = json!({ "job": job.id, "id": id, "name": name });
            if *vmlinux {
                r["vmlinux"] = json!(true);
            }
            let exit = job.exit.contains(id);
            if exit {
                r["exit"] = json!(true);
            }
            let t_load = Instant::now();
            let loaded = probe.load(if *vmlinux { 0 } else { btf_fd }, *id, exit);
            load_time += t_load.elapsed();
            let t_link = Instant::now();
            match loaded {
                Err(e) => {
                    r["status"] = json!("load_failed");
                    r["error"] = json!(e);
                }
                Ok(pfd) => match Probe::attach(pfd, u64::from(*id), exit) {
                    Err(e) => {
                        r["status"] = json!("attach_failed");
                        r["error"] = json!(e);
                        // SAFETY: closing an fd we own.
                        unsafe { libc::close(pfd) };
                    }
                    Ok(lfd) => {
                        r["status"] = json!("attached");
                        // The link holds the program.
                        // SAFETY: closing an fd we own.
                        unsafe { libc::close(pfd) };
                        fds.push((name.clone(), (-1, lfd)));
                    }
                },
            }
            link_time += t_link.elapsed();
            results.insert(*id, r);
        }
        let t_attached = Instant::now();
        let _ = rb.consume();
        collected.borrow_mut().clear();
        let fds_empty = fds.is_empty();
        let trig = if fds.is_empty() {
            Ok(())
        } else {
            announce_trigger(out, job, &fds.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), &results);
            std::fs::write(&trigger, "1").map_err(|e| format!("{trigger}: {e}"))
        };
        let t_triggered = Instant::now();
        // Detaching waits for an RCU-tasks grace period per trampoline (~0.1 s under TCG):
        // closing the links from parallel threads lets them share grace periods.
        let mut detach = Vec::new();
        for (name, fd) in fds {
            let left = later.get_mut(name.as_str()).map_or(0, |n| {
                *n -= 1;
                *n
            });
            if detach_all || left > 0 {
                detach.push(fd);
            } else {
                kept.push(fd);
            }
        }
        std::thread::scope(|s| {
            for (pfd, lfd) in detach {
                s.spawn(move || {
                    // SAFETY: closing fds we own (detaches the probe).
                    unsafe {
                        libc::close(lfd);
                        if pfd >= 0 {
                            libc::close(pfd);
                        }
                    }
                });
            }
        });
        let _ = rb.consume();
        let mut line = json!({ "job": job.id, "funcs": round.len(), "attach_ms": (t_attached - t_round).as_millis() as u64, "load_ms": load_time.as_millis() as u64, "link_ms": link_time.as_millis() as u64, "trigger_ms": (t_triggered - t_attached).as_millis() as u64, "detach_ms": t_triggered.elapsed().as_millis() as u64 });
        // What the module's functions returned during this trigger (generated modules log it):
        // the ground truth of this round's fexit readings. Read after every trigger, since a
        // later trigger overwrites it.
        if trig.is_ok() && !fds_empty {
            if let Ok(text) = std::fs::read_to_string(&returns) {
                line["returns"] = json!(text);
            }
        }
        emit(out, "BTFSMITH-ROUND", &line);
        let mut per_func: BTreeMap<u64, Vec<Event>> = BTreeMap::new();
        for e in collected.borrow_mut().drain(..) {
            per_func.entry(e.cookie).or_default().push(e);
        }
        for (id, mut r) in results {
            if r["status"] == "attached" {
                if let Err(e) = &trig {
                    r["trigger"] = json!(e);
                }
                let evs = per_func.remove(&u64::from(id)).unwrap_or_default();
                r["hits"] = json!(evs.len());
                r["events"] = json!(evs
                    .iter()
                    .take(MAX_EVENTS)
                    .map(|e| {
                        let n = (e.nargs.max(0) as usize).min(MAX_ARGS);
                        let mut v = json!({ "ip": format!("{:x}", e.ip), "nargs": e.nargs, "args": e.args[..n].iter().map(|a| format!("{a:x}")).collect::<Vec<_>>() });
                        if e.exit != 0 {
                            v["ret"] = json!(format!("{:x}", e.ret));
                        }
                        v
                    })
                    .collect::<Vec<_>>());
            }
            emit(out, "BTFSMITH-RESULT", &r);
        }
    }
    kept
}
