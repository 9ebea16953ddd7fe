//! Project automation: `cargo xtask ci | conformance | fixtures | bench`.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

mod circles;
#[cfg(test)]
mod source;
mod tidy;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  ci           fmt --check, clippy -D warnings, the tests, rustdoc -D warnings, then the conformance
  conformance  every case in fixtures/conformance through every backend; fails on any violation
  fixtures     regenerate fixtures/conformance/keras_* from fixtures/instmodel-keras (the bless step)
  bench        the peer benchmarks in one run: instinct and instmodel_inference (cargo bench), then
               ONNX Runtime on the same models when python3 can import onnxruntime and onnx (f32 at
               batches of 1024 and 8192), and benches/int8_peers.py (int8 and f32 against ONNX
               Runtime's int8) when it can also import instinct";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("conformance") => conformance(),
        Some("fixtures") => fixtures(),
        Some("bench") => bench(),
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// The workspace root (xtask lives one level below it).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

fn cargo(args: &[&str]) -> Result<()> {
    cargo_with(args, &[])
}

/// `cargo args` with extra environment variables.
fn cargo_with(args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    let shown: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v:?} ")).collect();
    eprintln!("$ {}cargo {}", shown.concat(), args.join(" "));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root())
        .status()
        .with_context(|| format!("cannot run cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn ci() -> Result<()> {
    cargo(&["fmt", "--all", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(&["test", "--workspace"])?;
    // Broken intra-doc links and other rustdoc warnings fail CI too. The Python extension's
    // API is documented for Python (its .pyi and docs/PYTHON.md), not by rustdoc; documenting
    // it would build pyo3 and numpy once more only to check comments clippy already reads.
    cargo_with(
        &[
            "doc",
            "--workspace",
            "--exclude",
            "instinct-python",
            "--no-deps",
            "--quiet",
        ],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    conformance()
}

fn conformance() -> Result<()> {
    cargo(&[
        "run",
        "--quiet",
        "--release",
        "--package",
        "instinct-conformance",
        "--",
        "run",
        "fixtures/conformance",
    ])
}

fn bench() -> Result<()> {
    cargo(&["bench", "--package", "instinct-benches", "--bench", "peers"])?;
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let has_ort = Command::new(&python)
        .args(["-c", "import onnxruntime, onnx, numpy"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_ort {
        eprintln!(
            "ONNX Runtime skipped: `{python} -c 'import onnxruntime, onnx, numpy'` fails (set PYTHON to a venv's python)"
        );
        return Ok(());
    }
    let run = |args: &[&str]| -> Result<()> {
        eprintln!("$ {python} {}", args.join(" "));
        let status = Command::new(&python)
            .args(args)
            .current_dir(root())
            .status()?;
        if !status.success() {
            bail!("`{python} {}` failed ({status})", args.join(" "));
        }
        Ok(())
    };
    run(&["benches/make_models.py", "--onnx"])?;
    // ONNX Runtime's f32 at its fastest batch size here (1024) and at 8192.
    for threads in ["1", "2"] {
        for batch in ["1024", "8192"] {
            run(&[
                "benches/onnxruntime_bench.py",
                "benches/models/seed_250_300_200.onnx",
                "--threads",
                threads,
                "--batch",
                batch,
            ])?;
        }
    }
    run(&["benches/batched_numpy.py"])?;
    // int8 and f32 against ONNX Runtime's int8 configurations, through instinct's Python
    // package in the same interleaved harness.
    let has_package = Command::new(&python)
        .args(["-c", "import instinct"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_package {
        eprintln!(
            "int8 peers skipped: `{python} -c 'import instinct'` fails (pip install ./python into that venv)"
        );
        return Ok(());
    }
    cargo(&["build", "--release", "--package", "instinct-cli"])?;
    run(&[
        "benches/int8_peers.py",
        "--instinct",
        "target/release/instinct",
    ])?;
    Ok(())
}

fn fixtures() -> Result<()> {
    cargo(&[
        "run",
        "--quiet",
        "--package",
        "instinct-conformance",
        "--",
        "import-keras",
        "fixtures/instmodel-keras",
        "fixtures/conformance",
    ])?;
    eprintln!("review the change with `git diff --stat fixtures/conformance` before committing");
    Ok(())
}
