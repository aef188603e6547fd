using SaeMl.Compute;

namespace SaeMl.Autoencoder;

/// <summary>How the decoder bias b_dec is initialised before training.</summary>
public enum DecoderBiasInitialization
{
    /// <summary>Zero.</summary>
    Zero,

    /// <summary>The mean of a sample of the training vectors.</summary>
    Mean,

    /// <summary>The geometric median of a sample of the training vectors (Weiszfeld iterations): robust to outliers.</summary>
    GeometricMedian,
}

/// <summary>
/// Every hyper-parameter of a sparse autoencoder and its training, shared by
/// <see cref="SparseAutoencoderTrainer"/> and the <c>SparseAutoencode</c> estimator.
/// </summary>
public class SparseAutoencoderOptions
{
    /// <summary>Default values, shared by the API and the command line.</summary>
    public static class Defaults
    {
        /// <summary>n, the latents (the paper uses 196,000 for bge-base).</summary>
        public const int LatentSize = 16_384;

        /// <summary>K, the latents active per vector (the paper: 32, 64 or 128).</summary>
        public const int ActiveLatents = 32;

        /// <summary>The most queries per optimisation step the default batch takes (the paper's 512, at every K).</summary>
        public const int BatchSize = 512;

        /// <summary>The fewest queries per optimisation step the default batch takes.</summary>
        public const int SmallestBatchSize = 128;

        /// <summary>Active query latents per optimisation step that the default batch keeps at any K: the paper's 512 queries at K = 32.</summary>
        public const int ActiveQueryLatentsPerStep = 16_384;

        /// <summary>
        /// The default B at K active latents: <see cref="ActiveQueryLatentsPerStep"/> / K queries a step, from
        /// <see cref="SmallestBatchSize"/> to <see cref="BatchSize"/> (512 up to K = 32, 256 at K = 64, 128 from K = 128).
        /// At K = 128 on the hard demo world 128 queries a step keep 98.9 % / 98.6 % of the MRR where 512 keep
        /// 93.3 % / 98.0 %, while at K = 32 512 keep the most on the demo world and about what 256 keep on the hard one (docs/results.md).
        /// </summary>
        /// <param name="activeLatents">K, at least 1.</param>
        public static int BatchSizeFor(int activeLatents)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(activeLatents, 1);
            return Math.Clamp(ActiveQueryLatentsPerStep / activeLatents, SmallestBatchSize, BatchSize);
        }

        /// <summary>
        /// M, the neighbor documents per query in the KL term (the paper: 16). 32 kept about 2 to 4 points more retrieval than
        /// 16 on the hard demo world and on real text, and within a point of it on the demo world (docs/results.md).
        /// </summary>
        public const int NeighborsPerQuery = 32;

        /// <summary>Passes over the training queries.</summary>
        public const int Epochs = 16;

        /// <summary>Adam's learning rate at the start of the cosine schedule (the paper: 1e-3).</summary>
        public const float LearningRate = 1e-3f;

        /// <summary>
        /// λ, the KL term's weight against the reconstruction term, which is an FVU (the MSE over the training
        /// data's variance), so that λ means the same at any dimension and spread of the embeddings; chosen by
        /// experiment on the demo world, the hard demo world and real text (docs/results.md).
        /// </summary>
        public const float KLWeight = 1f;

        /// <summary>r, the latent-score KL term's weight relative to the paper's (see <see cref="LatentKLRatio"/>), chosen with <see cref="KLWeight"/>.</summary>
        public const float LatentKLRatio = 10f;

        /// <summary>τ in units of the neighbors' score spread (see <see cref="Temperature"/>), chosen by experiment on three data sets (docs/results.md).</summary>
        public const float RelativeTemperature = 1f;

        /// <summary>The AuxK term's weight (OpenAI's 1/32).</summary>
        public const float AuxKWeight = 1f / 32;

        /// <summary>The share of queries held out for validation.</summary>
        public const float ValidationFraction = 0.05f;
    }

    /// <summary>The <c>SparseAutoencode</c> estimator's sparse latent column (a vector of Single of length n); the store-based trainer ignores the column names.</summary>
    public string OutputColumnName = SaeColumnNames.Latent;

    /// <summary>The <c>SparseAutoencode</c> estimator's embedding column, a known-size vector of Single.</summary>
    public string InputColumnName = SaeColumnNames.Embedding;

    /// <summary>When set, the column the <c>SparseAutoencode</c> transform writes the reconstruction x̂ to.</summary>
    public string? ReconstructionColumnName;

    /// <summary>
    /// When set, the column holding each row's M neighbor documents' embeddings (a vector of Single of M·d
    /// values) for the KL term; when not, the estimator finds them itself (see <see cref="NeighborCorpusPath"/>).
    /// </summary>
    public string? NeighborsColumnName;

    /// <summary>n, the number of latents.</summary>
    public int LatentSize = Defaults.LatentSize;

    /// <summary>K, the latents kept per vector by TopK (with <see cref="SparseActivation.BatchTopK"/>, per vector on average).</summary>
    public int ActiveLatents = Defaults.ActiveLatents;

    /// <summary>How latents are chosen: exactly K per vector (TopK, the paper's) or K per vector on average (BatchTopK).</summary>
    public SparseActivation Activation = SparseActivation.TopK;

    /// <summary>
    /// With <see cref="SparseActivation.BatchTopK"/>, the most latents one vector may keep (the trained autoencoder's
    /// <see cref="SparseAutoencoder.ActiveLatents"/>), above K; null means 2K, at most n. Ignored by TopK.
    /// </summary>
    public int? MaxActiveLatents;

    /// <summary>The most latents a trained vector keeps: K for TopK, <see cref="MaxActiveLatents"/> (2K by default) for BatchTopK.</summary>
    internal int LatentSlots => Activation == SparseActivation.BatchTopK ? MaxActiveLatents ?? Math.Min(LatentSize, 2 * ActiveLatents) : ActiveLatents;

    /// <summary>
    /// B, queries per optimisation step; each brings its M documents, so a step sees B·(1 + M) vectors. Null (the default)
    /// takes <see cref="Defaults.BatchSizeFor"/> of <see cref="ActiveLatents"/>: 512 up to K = 32, 256 at 64, 128 from 128.
    /// </summary>
    public int? BatchSize;

    /// <summary>B as training takes it: <see cref="BatchSize"/> when set, otherwise the default for <see cref="ActiveLatents"/>.</summary>
    public int EffectiveBatchSize => BatchSize ?? Defaults.BatchSizeFor(ActiveLatents);

    /// <summary>M, neighbor documents per query (the first M of the neighbor lists given; 0 trains on queries alone).</summary>
    public int NeighborsPerQuery = Defaults.NeighborsPerQuery;

    /// <summary>Passes over the training queries; the learning rate follows a cosine from <see cref="LearningRate"/> to 0 over all of them.</summary>
    public int Epochs = Defaults.Epochs;

    /// <summary>Adam's initial learning rate.</summary>
    public float LearningRate = Defaults.LearningRate;

    /// <summary>
    /// λ, the weight of KL(p ‖ p̂) between each query's original and reconstructed score distributions, against the
    /// reconstruction term (an FVU); 0 gives the MSE-only ablation (no KL term of either kind).
    /// </summary>
    public float KLWeight = Defaults.KLWeight;

    /// <summary>
    /// r, the weight of a second KL term (not in the paper) relative to the first: the objective adds λ·r·KL(p ‖ p_z),
    /// where p_z is each query's score distribution over its neighbors from its sparse latents (scores z_q · z_d, what
    /// latent retrieval ranks by) at the same temperature. The paper's term shapes the reconstructions; this one makes a
    /// query and its documents share latents in proportion to their original scores. 0 leaves it out; with
    /// <see cref="KLWeight"/> = 0 both terms are out.
    /// </summary>
    public float LatentKLRatio = Defaults.LatentKLRatio;

    /// <summary>
    /// τ, the softmax temperature of the KL terms; null (the default) takes <see cref="RelativeTemperature"/> times the
    /// neighbors' score spread, measured before training: the mean over up to 8,192 training queries of the standard
    /// deviation of a query's scores with its M neighbors. The spread differs widely between data sets (0.024 for
    /// arctic-embed-xs on real text, 0.006 on the hard demo world), and a fixed τ far above it leaves the softmax nearly
    /// uniform and the KL terms without effect.
    /// </summary>
    public float? Temperature;

    /// <summary>τ in units of the neighbors' score spread, when <see cref="Temperature"/> is null.</summary>
    public float RelativeTemperature = Defaults.RelativeTemperature;

    /// <summary>The weight of the AuxK loss that lets dead latents learn from the residual.</summary>
    public float AuxKWeight = Defaults.AuxKWeight;

    /// <summary>k_aux, the dead latents an AuxK reconstruction uses; null means d / 2.</summary>
    public int? AuxKLatents;

    /// <summary>A latent is dead when it has not fired for this many training vectors; null means one epoch's worth (at most 10 million).</summary>
    public long? DeadAfterVectors;

    /// <summary>
    /// For the <c>SparseAutoencode</c> estimator fitted on data without a neighbors column: an embedding store
    /// (a <c>.npy</c> file or a store folder) whose M nearest documents to each training row, found by exact
    /// search, feed the KL term. Null searches the training rows themselves (each row's M nearest other rows).
    /// Unused when a neighbors column is given or when <see cref="KLWeight"/> is 0.
    /// </summary>
    public string? NeighborCorpusPath;

    /// <summary>The share of queries held out for validation metrics (0 to train on all); the validation figures are logged each epoch.</summary>
    public float ValidationFraction = Defaults.ValidationFraction;

    /// <summary>Seeds initialisation, the validation split and the shuffling of each epoch.</summary>
    public int Seed = 1;

    /// <summary>Where training runs.</summary>
    public ComputeDevice Device = ComputeDevice.Auto;

    /// <summary>How b_dec starts.</summary>
    public DecoderBiasInitialization DecoderBiasInitialization = DecoderBiasInitialization.Mean;

    /// <summary>Save a checkpoint every this many steps (0: only at the end of each epoch, and only with <see cref="CheckpointPath"/>).</summary>
    public int CheckpointEverySteps;

    /// <summary>Where checkpoints go; null saves none. An existing checkpoint there is resumed when <see cref="Resume"/> is set.</summary>
    public string? CheckpointPath;

    /// <summary>Continue from the checkpoint at <see cref="CheckpointPath"/> if there is one.</summary>
    public bool Resume;



    /// <summary>A copy, so later changes to these options do not reach a training already started.</summary>
    internal SparseAutoencoderOptions Copy() => (SparseAutoencoderOptions)MemberwiseClone();

    /// <summary>Checks the values against the data's dimension; names the first one out of range.</summary>
    internal void Validate(int dimension)
    {
        Require(LatentSize >= 1, nameof(LatentSize), LatentSize, "must be at least 1");
        Require(ActiveLatents >= 1 && ActiveLatents <= LatentSize, nameof(ActiveLatents), ActiveLatents, $"must be from 1 to LatentSize ({LatentSize})");
        Require(Enum.IsDefined(Activation), nameof(Activation), Activation, "must be TopK or BatchTopK");
        Require(Activation != SparseActivation.BatchTopK || ActiveLatents < LatentSize, nameof(ActiveLatents), ActiveLatents,
            $"must be below LatentSize ({LatentSize}) with BatchTopK: a vector may keep more than K latents, and with K = n there are no more");
        Require(MaxActiveLatents is null || (MaxActiveLatents > ActiveLatents && MaxActiveLatents <= LatentSize), nameof(MaxActiveLatents), MaxActiveLatents ?? 0,
            $"must be above ActiveLatents ({ActiveLatents}) and at most LatentSize ({LatentSize}): with no room above K a batch keeps every slot, and the threshold learnt would drop what training kept");
        Require(BatchSize is null or >= 1, nameof(BatchSize), BatchSize ?? 0, "must be at least 1 (or null: the default for ActiveLatents)");
        Require(NeighborsPerQuery >= 0, nameof(NeighborsPerQuery), NeighborsPerQuery, "must not be negative");
        Require(Epochs >= 1, nameof(Epochs), Epochs, "must be at least 1");
        Require(LearningRate > 0 && float.IsFinite(LearningRate), nameof(LearningRate), LearningRate, "must be positive");
        Require(KLWeight >= 0 && float.IsFinite(KLWeight), nameof(KLWeight), KLWeight, "must be 0 or positive");
        Require(KLWeight == 0 || NeighborsPerQuery >= 2, nameof(NeighborsPerQuery), NeighborsPerQuery,
            $"must be at least 2 while KLWeight ({KLWeight}) is above 0: the KL term compares score distributions over each query's neighbors (set KLWeight = 0 for the MSE-only ablation)");
        Require(LatentKLRatio >= 0 && float.IsFinite(LatentKLRatio), nameof(LatentKLRatio), LatentKLRatio, "must be 0 or positive");
        Require(Temperature is null || (Temperature > 0 && float.IsFinite(Temperature.Value)), nameof(Temperature), Temperature ?? 0, "must be positive (or null: relative to the neighbors' score spread)");
        Require(RelativeTemperature > 0 && float.IsFinite(RelativeTemperature), nameof(RelativeTemperature), RelativeTemperature, "must be positive");
        Require(AuxKWeight >= 0 && float.IsFinite(AuxKWeight), nameof(AuxKWeight), AuxKWeight, "must be 0 or positive");
        Require(AuxKLatents is null or >= 1, nameof(AuxKLatents), AuxKLatents ?? 0, "must be at least 1");
        Require(DeadAfterVectors is null or >= 1, nameof(DeadAfterVectors), DeadAfterVectors ?? 0, "must be at least 1");
        Require(ValidationFraction is >= 0 and < 1, nameof(ValidationFraction), ValidationFraction, "must be in [0, 1)");
        Require(CheckpointEverySteps >= 0, nameof(CheckpointEverySteps), CheckpointEverySteps, "must not be negative");
        Require(dimension >= 1, "dimension", dimension, "of the data must be at least 1");
    }

    private static void Require(bool condition, string name, object value, string rule)
    {
        if (!condition)
            throw new ArgumentOutOfRangeException(name, value, $"{name} {rule}.");
    }
}
