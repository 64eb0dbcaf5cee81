//! The committed SDL (`graphql/schema.graphql`) is exactly what the code serves: the console's
//! types are generated from the file. `UPDATE_SCHEMA=1 cargo test -p pulse-graphql --test sdl`
//! rewrites it after a deliberate change.

#[test]
fn committed_sdl_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let sdl = pulse_graphql::sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some_and(|v| v == "1") {
        std::fs::write(path, &sdl).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap();
    assert!(
        committed == sdl,
        "graphql/schema.graphql differs from the code's schema; run \
         UPDATE_SCHEMA=1 cargo test -p pulse-graphql --test sdl and commit the file"
    );
}
