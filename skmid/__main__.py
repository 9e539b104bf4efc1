from skmid._cli import main

raise SystemExit(main())
