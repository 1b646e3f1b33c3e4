//! Compile-fail and pass cases of the derives (trybuild). The expected messages in
//! `tests/ui/fail/*.stderr` are the output of the CI toolchain (rustc 1.95); regenerate
//! them with `TRYBUILD=overwrite` after a toolchain change and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
