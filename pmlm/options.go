package pmlm

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/predict"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
	"github.com/pmlm-go/pmlm/policy"
	"github.com/pmlm-go/pmlm/similarity"
)

// The defaults of TrainOptions: the paper's configuration where the paper
// gives one. The experiment runner and the command-line flags use these
// constants; where a command deliberately differs, its help says why.
const (
	// DefaultK is the number of similar patients in the prompt (paper: 10).
	DefaultK = 10
	// DefaultSteps is the number of words the policy deletes (paper: n = 10).
	DefaultSteps = policy.DefaultSteps
	// DefaultEpochs is the number of REINFORCE epochs.
	DefaultEpochs = policy.DefaultEpochs
	// DefaultBatchSize is the number of episodes per optimizer step.
	DefaultBatchSize = policy.DefaultBatchSize
	// DefaultLearningRate is Adam's step size (paper: 0.005).
	DefaultLearningRate = policy.DefaultLearningRate
	// DefaultCrossFitFolds is the number of folds that give the training
	// patients' prompts out-of-fold predicted labels.
	DefaultCrossFitFolds = 3
	// DefaultRewardComponent is the BERTScore component of the reward
	// (paper: F1).
	DefaultRewardComponent = "F"
	// DefaultPredictor is the name of the default label predictor:
	// gradient-boosted trees on per-patient summary features, chosen on the
	// validation split of the default synthetic cohort over MiniRocket,
	// the previous default (docs/experiments/predictors).
	DefaultPredictor = "gbdt"
)

// PredictorFactory returns an unfitted label predictor seeded with seed.
// Train calls it once for the predictor the pipeline keeps and once per
// cross-fitting fold, each time with another seed, so every fold is fitted
// with the same kind of predictor.
type PredictorFactory func(seed uint64) (predict.Predictor, error)

// EncoderData is what an EncoderFactory fits a patient encoder on: the
// training patients of the split.
type EncoderData struct {
	// Series are the training patients' visit matrices
	// ([patient][visit][metric], NaN for missing values) and Labels their
	// true labels, indices into the cohort's NumLabels labels.
	Series    [][][]float64
	Labels    []int
	NumLabels int
	// NumMetrics is the number of metrics per visit and MaxVisits the
	// largest number of visits of a patient in the cohort.
	NumMetrics, MaxVisits int
	// WarmStart and Seed are TrainOptions.WarmStart and a seed derived
	// from TrainOptions.Seed.
	WarmStart bool
	Seed      uint64
}

// EncoderFactory returns the fitted patient encoder that the recommender's
// index and queries share (the retrieval encoder). It is the one encoder
// plug-in point: when the encoder also implements
//
//	DifferentiableCopy(seed uint64) (mlp.Differentiable, error)
//
// (encoder/mlp.MLP does), the policy fine-tunes such a copy (the paper's
// gradients into the encoder) while the retrieval encoder stays frozen;
// otherwise the policy sees the retrieval encoder's x̂ as a constant.
type EncoderFactory func(ctx context.Context, d EncoderData) (encoder.Encoder, error)

// RecommenderFactory returns a recommender over the training patients'
// references (their retrieval encodings, true labels, and patient IDs as
// keys). An approximate index or an external vector store can stand in
// for similarity.Exact here.
type RecommenderFactory func(ctx context.Context, refs []similarity.Reference) (similarity.Recommender, error)

// PolicyFactory returns an untrained word-deletion policy for word vectors
// of length wordDim and patient encodings of length patientDim.
type PolicyFactory func(wordDim, patientDim int, seed uint64) (policy.Policy, error)

// TrainOptions configures Pipeline training. The zero value trains the
// paper's configuration on the embedded defaults: MiniRocket, the MLP
// patient encoder, exact cosine top-k, the MLP policy, the embedded word
// vectors and the offline case responder. Every plug-in point (a func or
// interface field) means the default when nil.
type TrainOptions struct {
	// Split selects the training and validation patients; the zero value
	// means cohort.DefaultSplit.
	Split cohort.SplitBoundaries
	// Read is how the cohort was read (the cohort.ReadOptions given to
	// cohort.ReadDir): recorded in the manifest, so that the commands that
	// answer with the model read patients as training did. The zero value
	// means the reader's defaults.
	Read ReadSettings
	// NewPredictor makes the label predictor (and the cross-fitting
	// folds' predictors); nil means MiniRocket with ridge.
	NewPredictor PredictorFactory `json:"-"`
	// NewEncoder makes the patient encoder; nil means the paper's MLP
	// (encoder/mlp), warm-started when WarmStart is set.
	NewEncoder EncoderFactory `json:"-"`
	// NewRecommender makes the recommender; nil means similarity.NewIndex
	// (exact cosine top-k).
	NewRecommender RecommenderFactory `json:"-"`
	// NewVersionedRecommender, if set, is used instead of NewRecommender:
	// it also receives the retrieval encoder's version (EncoderVersion), which
	// an external index (a vector database shared by several models)
	// records with each vector, so that a model never queries vectors made
	// by another encoder. The encoder must implement Saver.
	NewVersionedRecommender func(ctx context.Context, encoderVersion string, refs []similarity.Reference) (similarity.Recommender, error) `json:"-"`
	// NewPolicy makes the word-deletion policy; nil means the paper's MLP
	// (policy.New with policy.DefaultConfig).
	NewPolicy PolicyFactory `json:"-"`
	// Fitted, if set, is a predictor already fitted by FitPredictor on the
	// same cohort and split; Train uses it instead of fitting one, so that
	// several trainings (ablations, sweeps) share the costly fit.
	Fitted *PredictorFit
	// NoSelfPersonalization leaves the predicted label out of the prompt
	// (the paper's ablation "w/o SP"): no predictor is fitted and the
	// default template loses its "Patient:" sentence. A custom
	// PromptTemplate is used as given, with "unknown" as the label.
	NoSelfPersonalization bool
	// NoPeerPersonalization leaves the similar patients out of the prompt
	// (the paper's ablation "w/o PP"): the template sees no neighbours.
	NoPeerPersonalization bool
	// CrossFitFolds > 1 gives the training patients' prompts out-of-fold
	// predicted labels, so that the policy trains on prompts whose predicted
	// labels are as fallible as those it will see at test time (in-sample
	// predictions of MiniRocket are nearly always right). 0 means
	// DefaultCrossFitFolds; 1 uses in-sample predictions, as the paper's
	// algorithm 1 does.
	CrossFitFolds int
	// Text embeds prompt words for the policy and responses for BERTScore;
	// nil means the embedded word vectors (wordvec.Default).
	Text encoder.TextEncoder
	// Responder is the LLM that answers prompts (LLM_r). Nil means the
	// offline CaseResponder over the training patients' coarse prompts and
	// doctor replies.
	Responder llm.Responder
	// PromptTemplate is the text/template of the coarse prompt over
	// prompt.Data; empty means prompt.DefaultText.
	PromptTemplate string
	// K is the number of similar patients (0: DefaultK); Steps the number
	// of deleted words n (0: DefaultSteps). Train refuses Steps above half
	// the words of the shortest training coarse prompt: such a policy
	// deletes most of every prompt.
	K, Steps int
	// WarmStart trains the default patient encoder to place same-label
	// patients close before it is used (beyond the paper; see
	// mlp.MLP.WarmStart). A custom NewEncoder receives it in EncoderData.
	WarmStart bool
	// Epochs, BatchSize, Workers and LearningRate configure the REINFORCE
	// trainer (0: DefaultEpochs, DefaultBatchSize, GOMAXPROCS,
	// DefaultLearningRate; the policy trainer applies its defaults, which
	// these constants are).
	Epochs, BatchSize, Workers int
	LearningRate               float64
	// BaselineDecay subtracts a running mean of rewards (variance reduction,
	// not in the paper); 0 keeps the paper's loss.
	BaselineDecay float64
	// EntropyBonus adds β·Σ H(π) to the REINFORCE objective
	// (policy.TrainerConfig.EntropyBonus; not in the paper); 0 keeps the
	// paper's loss.
	EntropyBonus float64
	// Actions selects the policy's actions: ActionsDelete ("" means it),
	// the paper's word deletions; ActionsReplace, which also lets the
	// policy replace the predicted label by one of the similar patients'
	// other labels; or ActionsInsert, which lets it add one of them after
	// the predicted label (replace and insert are the paper's future work,
	// its limitation 2). A saved model refines with the actions it was
	// trained with.
	Actions string
	// RewardComponent selects the BERTScore component of the reward: "F"
	// (DefaultRewardComponent, the paper's F1), "P" or "R".
	RewardComponent string
	// OracleValidation also measures the refinement oracle (OraclePrompts)
	// on the validation patients that select the best epoch, once before
	// training, so that each epoch's validation gain can be read against
	// what deleting words can gain at most (TrainingReport). A diagnostic:
	// it costs up to a few more answers per validation patient.
	OracleValidation bool
	// MaxEpisodes, if > 0, trains each epoch on that many training patients
	// (a seeded subset) instead of all of them; MaxValidation likewise
	// bounds the validation patients used to select the best epoch.
	MaxEpisodes, MaxValidation int
	// Seed seeds every random choice.
	Seed uint64
	// KeySalt is the salt of the patients' opaque keys (PatientKeys); nil
	// derives one from Seed and the cohort's digest, so that a training
	// is reproducible. Random bytes (16 or more) give keys that differ
	// between models trained on the same data.
	KeySalt []byte `json:"-"`
	// StoreCases lets Save store the training patients' coarse prompts
	// and doctor replies (cases.jsonl) when the responder is the offline
	// case responder, which answers with them; without it Save refuses
	// such a pipeline (ErrStoreCases). Other responders need no cases and
	// Save never stores them.
	StoreCases bool
	// CheckpointPath, if set, receives the trainer's checkpoints; with
	// Resume, training continues from it when it exists.
	CheckpointPath string
	Resume         bool
	// Progress, if set, receives progress lines and the trainer's bar.
	Progress io.Writer
}

// The seeds of the parts, derived from TrainOptions.Seed so that every
// part draws from its own stream.
const (
	seedPredictor     = 0
	seedEncoder       = 1
	seedWarmStart     = 2
	seedPolicy        = 3
	seedEpisodes      = 4
	seedTrainer       = 5
	seedValidation    = 6
	seedPolicyEncoder = 7
	seedFolds         = 100 // fold f uses Seed + seedFolds + f
)

// The policy's action sets (TrainOptions.Actions).
const (
	// ActionsDelete is the paper's: delete one word per step.
	ActionsDelete = "delete"
	// ActionsReplace adds replace actions: the predicted label may be
	// replaced, once per prompt, by one of the similar patients' other
	// labels (policy.Replacement).
	ActionsReplace = "replace"
	// ActionsInsert adds insert actions: one of the similar patients' other
	// labels may be added after the predicted label, once per prompt
	// ("anemia" becomes "anemia or gestational diabetes"), made as a
	// replacement of the label by the pair.
	ActionsInsert = "insert"
)

// checkActions validates an action set, "" meaning ActionsDelete.
func checkActions(a string) (string, error) {
	switch a {
	case "", ActionsDelete:
		return ActionsDelete, nil
	case ActionsReplace, ActionsInsert:
		return a, nil
	}
	return "", fmt.Errorf("%w: actions %q: want %q, %q or %q", ErrOptions, a, ActionsDelete, ActionsReplace, ActionsInsert)
}

func (o *TrainOptions) setDefaults() error {
	if o.Split == (cohort.SplitBoundaries{}) {
		o.Split = cohort.DefaultSplit()
	}
	if err := o.Split.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrOptions, err)
	}
	if o.Read.MaxVisits < 0 {
		return fmt.Errorf("%w: Read.MaxVisits %d is negative", ErrOptions, o.Read.MaxVisits)
	}
	if o.CrossFitFolds == 0 {
		o.CrossFitFolds = DefaultCrossFitFolds
	}
	if o.K == 0 {
		o.K = DefaultK
	}
	if o.Steps == 0 {
		o.Steps = DefaultSteps
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	switch o.RewardComponent {
	case "":
		o.RewardComponent = DefaultRewardComponent
	case "F", "P", "R":
	default:
		return fmt.Errorf("%w: reward component %q: want F, P or R", ErrOptions, o.RewardComponent)
	}
	if o.K < 1 || o.Steps < 1 || o.CrossFitFolds < 1 {
		return fmt.Errorf("%w: K, Steps and CrossFitFolds must be positive", ErrOptions)
	}
	var err error
	if o.Actions, err = checkActions(o.Actions); err != nil {
		return err
	}
	if o.Epochs < 0 || o.BatchSize < 0 || o.LearningRate < 0 || o.Workers < 0 || o.MaxEpisodes < 0 || o.MaxValidation < 0 {
		return fmt.Errorf("%w: Epochs %d, BatchSize %d, LearningRate %v, Workers %d, MaxEpisodes %d and MaxValidation %d must not be negative",
			ErrOptions, o.Epochs, o.BatchSize, o.LearningRate, o.Workers, o.MaxEpisodes, o.MaxValidation)
	}
	if o.PromptTemplate == "" {
		o.PromptTemplate = prompt.DefaultText
		if o.NoSelfPersonalization {
			o.PromptTemplate = withoutSelfSentence
		}
	}
	if o.NewPredictor == nil {
		o.NewPredictor = func(seed uint64) (predict.Predictor, error) { return predict.New(DefaultPredictor, seed) }
	}
	if o.NewEncoder == nil {
		o.NewEncoder = defaultEncoder
	}
	if o.NewRecommender == nil {
		o.NewRecommender = func(_ context.Context, refs []similarity.Reference) (similarity.Recommender, error) {
			return similarity.NewIndex(refs)
		}
	}
	if o.NewPolicy == nil {
		o.NewPolicy = func(wordDim, patientDim int, seed uint64) (policy.Policy, error) {
			return policy.New(policy.DefaultConfig(wordDim, patientDim), seed)
		}
	}
	return nil
}

// selfSentence is the sentence of prompt.DefaultText that shows the
// predicted label; withoutSelfSentence is the default template of the
// ablation without self-informed personalization.
const selfSentence = "Patient: her predicted discharge diagnosis is {{.PredictedLabel}}.\n"

var withoutSelfSentence = strings.Replace(prompt.DefaultText, selfSentence, "", 1)
