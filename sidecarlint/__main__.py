from sidecarlint.cli import console_main

console_main()
