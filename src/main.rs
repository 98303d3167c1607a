fn main() -> std::process::ExitCode {
    enact::cli::main()
}
