from peer_support.cli import main

main()
