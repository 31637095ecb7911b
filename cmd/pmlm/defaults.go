package main

// The training flags of train, demo and experiment take the library's
// defaults (pmlm.DefaultK, pmlm.DefaultSteps, pmlm.DefaultBatchSize, ...)
// except these two, which differ on purpose; their help says why.
const (
	// cliEpochs is 2, not pmlm.DefaultEpochs (1): the best epoch is
	// selected on validation patients, so a second epoch cannot make the
	// saved policy worse on them, and a command-line run can afford it.
	cliEpochs = 2
	// cliValidation is 120 validation patients, not all of them (the
	// library's 0): scoring every validation patient after each epoch
	// would double the demo's wall time for little precision.
	cliValidation = 120
)

const (
	epochsHelp     = "REINFORCE epochs (library default 1; 2 here, since validation keeps the better epoch)"
	validationHelp = "validation patients that select the best epoch (0: all; the library uses all, 120 here bounds the wall time)"
)
