//! The bank staff's bundle (`dist/admin/`, served for `/admin`): see the library's documentation.

fn main() {
    frontend::start(frontend::app::StaffApp);
}
