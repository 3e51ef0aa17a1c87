from sidecarlint.cli import main

main()
