//! The company users' bundle (`dist/`): see the library's documentation.

fn main() {
    frontend::start(frontend::app::App);
}
