//! ci/setup's own logic, checked without network or installs: `ci/test-setup` sources it with
//! fake `apt-cache` / `readelf` on PATH (see that script for what each check guards against).

mod common;

use std::path::Path;

#[test]
fn ci_setup_logic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
    let script = root.join("ci/test-setup");
    let res = common::run("bash", &[script.as_os_str()], None);
    let stdout = res.stdout_text();
    assert!(
        res.success() && stdout.contains(" 0 failed"),
        "ci/test-setup failed ({:?}):\n{stdout}\n{}",
        res.status,
        res.stderr_text()
    );
    // Eight checks ran; a script that silently did nothing must not pass.
    assert!(stdout.contains("8 passed"), "ci/test-setup ran fewer checks than expected:\n{stdout}");
}
