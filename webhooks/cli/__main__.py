from baton.webhooks.cli import main

main()
