from sidecarlint.cli import run

run()
