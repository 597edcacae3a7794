fn main() {
    std::process::exit(quell_cli::main());
}
