//! Shared helpers for the native integration tests: the reference data lives
//! in `../shared/data/` beside the repository.
#![allow(dead_code)]

use std::path::PathBuf;

pub fn data_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data").join(rel)
}

pub fn read(rel: &str) -> Vec<u8> {
    let path = data_path(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

pub fn read_text(rel: &str) -> String {
    String::from_utf8(read(rel)).expect("utf-8")
}

pub fn read_json(rel: &str) -> serde_json::Value {
    serde_json::from_slice(&read(rel)).expect("json")
}

pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

pub fn files_in(rel: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(data_path(rel))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    v.sort();
    v
}

#[cfg(not(target_arch = "wasm32"))]
pub mod loopback;

#[cfg(not(target_arch = "wasm32"))]
pub mod dev_server;

#[cfg(not(target_arch = "wasm32"))]
pub mod consent_fixtures;

pub mod rng;
