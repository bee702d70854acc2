use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    metrobadge::cli::run(metrobadge::cli::Cli::parse()).await
}
