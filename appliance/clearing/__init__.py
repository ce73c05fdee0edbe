"""The clearing job (清卡), its journal, outcomes and the scheduler that runs it."""
