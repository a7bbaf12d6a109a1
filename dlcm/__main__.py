from dlcm.cli import main

main()
