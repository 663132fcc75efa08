fn main() {
    eprintln!("promlite: commands are being built");
    std::process::exit(2);
}
