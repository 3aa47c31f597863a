from aiops_mcp.cli import main

raise SystemExit(main())
