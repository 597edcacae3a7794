fn main() {
    std::process::exit(quell::cli::main());
}
