using SaeMl.Compute;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeMl.Autoencoder;

/// <summary>The weights and temperature of the training objective's terms.</summary>
/// <param name="KLWeight">λ, the weight of the KL term; 0 gives the MSE-only ablation.</param>
/// <param name="Temperature">τ, dividing the scores before the softmax.</param>
/// <param name="AuxKWeight">The weight of the AuxK term.</param>
/// <param name="AuxKLatents">k_aux, the dead latents an AuxK reconstruction may use.</param>
/// <param name="LatentKLWeight">λ·r, the weight of a second KL term whose reconstructed scores are the latent scores z_q · z_d.</param>
/// <param name="ReconstructionVariance">σ², the training data's variance per element, dividing the MSE.</param>
/// <param name="BatchActiveLatents">BatchTopK's K: each batch of N vectors keeps its N·K largest activations; 0 keeps what the model's own encoding keeps.</param>
internal readonly record struct SaeObjectiveSettings(float KLWeight, float Temperature, float AuxKWeight, int AuxKLatents, float ReconstructionVariance = 1, float LatentKLWeight = 0, int BatchActiveLatents = 0);

/// <summary>One evaluation of the objective: its terms (scalars) and the latents chosen for each input row.</summary>
/// <param name="Total">FVU + λ·KL + λ·r·latent KL + w_aux·AuxK, to differentiate.</param>
/// <param name="Mse">The mean squared reconstruction error per element, over queries and documents.</param>
/// <param name="Kld">The KL term (0 without documents, with fewer than 2 per query, or with λ = 0).</param>
/// <param name="LatentKld">The latent-score KL term (0 likewise, or with its weight 0).</param>
/// <param name="AuxK">The AuxK term (0 without dead latents).</param>
/// <param name="Values">Latent values <c>[N, K]</c> of the input rows (queries first, then documents).</param>
/// <param name="Indices">Latent indices <c>[N, K]</c>.</param>
/// <param name="Reconstruction">x̂ <c>[N, d]</c>.</param>
/// <param name="BatchThreshold">With BatchTopK, the smallest activation the batch kept (a scalar); else null.</param>
internal readonly record struct SaeLoss(Tensor Total, Tensor Mse, Tensor Kld, Tensor LatentKld, Tensor AuxK, Tensor Values, Tensor Indices, Tensor Reconstruction, Tensor? BatchThreshold);

/// <summary>
/// The retrieval-oriented SAE objective of the paper, done as its notes say it should have been:
/// <c>MSE(x̂, x) / σ² + λ·KL(p ‖ p̂) + λ·r·KL(p ‖ p_z) + w_aux·AuxK</c>.
/// </summary>
/// <remarks>
/// <para><b>Reconstruction</b>: the mean squared error per element over the B queries and their B·M documents, divided by
/// σ², the training data's variance per element (measured once, before training): an FVU. The paper's MSE alone would make λ mean
/// something else at every dimension and spread of the embeddings (its scale follows the variance, about 1e-3 per element
/// for unit vectors of d = 384 and 1e-4 on the hard demo world), and would leave the AuxK term, which is normalised,
/// a hundred times the reconstruction's weight.</para>
/// <para><b>KL</b>: for each query q and its M neighbor documents, p = softmax(⟨q, d_j⟩ / τ) from the
/// original embeddings and p̂ = softmax(⟨q̂, d̂_j⟩ / τ) from the reconstructions (a true softmax, unlike
/// the reference code's, in which the document counts twice), KL(p ‖ p̂) averaged over queries.</para>
/// <para><b>Latent KL</b> (not in the paper): the same with p_z = softmax(z_q · z_d / τ) from the sparse latents, so that
/// latent retrieval, which ranks by z_q · z_d, keeps the original ranking as the reconstructions do.</para>
/// <para><b>AuxK</b> (OpenAI's fix for dead latents): the k_aux largest pre-activations among dead
/// latents reconstruct the residual e = x − x̂ (held constant), without the decoder bias;
/// the term is that reconstruction's MSE divided by the variance of e.</para>
/// </remarks>
internal static class SaeObjective
{
    /// <param name="model">The autoencoder, its weights requiring gradients when training.</param>
    /// <param name="queries"><c>[B, d]</c>.</param>
    /// <param name="documents"><c>[B·M, d]</c>, query b's documents at rows b·M … b·M + M − 1; null for plain reconstruction.</param>
    /// <param name="neighbors">M.</param>
    /// <param name="settings">λ, τ and the AuxK settings.</param>
    /// <param name="deadLatents">A boolean <c>[n]</c> mask of dead latents, or null.</param>
    /// <param name="deadCount">How many latents the mask marks.</param>
    /// <param name="phaseEnded">For profiling: told when the latent selection and the forward pass end.</param>
    /// <param name="preActivationScratch">Where the dense pre-activations are written (<see cref="SparseAutoencoder.NewPreActivationScratch"/>), or null.</param>
    public static SaeLoss Compute(SparseAutoencoder model, Tensor queries, Tensor? documents, int neighbors, SaeObjectiveSettings settings, Tensor? deadLatents, int deadCount,
        Action<string>? phaseEnded = null, Tensor? preActivationScratch = null)
    {
        var inputs = documents is null ? queries : cat([queries, documents], 0);            // [N, d]
        var centered = model.Center(inputs);
        var deadK = deadLatents is null ? 0 : Math.Min(settings.AuxKLatents, deadCount);
        var selection = model.SelectLatents(centered, deadK > 0 ? deadLatents : null, deadK, phaseEnded, preActivationScratch);
        var indices = selection.Indices;
        var activations = model.Activate(inputs, indices, selection.PreActivations);          // [N, K]
        var (values, batchThreshold) = settings.BatchActiveLatents > 0
            ? KeepBatchLargest(activations, settings.BatchActiveLatents)
            : (model.KeepAboveThreshold(activations), null);
        var reconstruction = model.Decode(values, indices);                                  // [N, d]
        var mse = (reconstruction - inputs).Squared().mean();

        var zero = zeros([], inputs.dtype, inputs.device);
        var (withKld, withLatentKld) = (documents is not null && neighbors >= 2 && settings.KLWeight != 0, documents is not null && neighbors >= 2 && settings.LatentKLWeight != 0);
        using var tau = settings.Temperature.ToScalar();
        var original = withKld || withLatentKld ? NeighborScores(queries, documents!, neighbors).div(tau) : null;              // [B, M]
        var kld = withKld ? Kld(original!, reconstruction, neighbors, tau) : zero;
        var latentKld = withLatentKld ? LatentKld(model.LatentSize, original!, values, indices, neighbors, tau) : zero;

        var auxK = zero;
        if (deadK > 0)
        {
            var residual = (inputs - reconstruction).detach();                                // [N, d]
            var deadValues = model.Activate(inputs, selection.DeadIndices!, selection.DeadPreActivations!);
            var deadReconstruction = model.DecodeWithoutBias(deadValues, selection.DeadIndices!);
            var variance = (residual - residual.mean([0], keepdim: true)).Squared().mean();
            auxK = (deadReconstruction - residual).Squared().mean() / variance.clamp_min(HeldScalars.DivisorFloor);
        }

        using var klWeight = settings.KLWeight.ToScalar();
        using var auxKWeight = settings.AuxKWeight.ToScalar();
        using var latentKLWeight = settings.LatentKLWeight.ToScalar();
        using var dataVariance = settings.ReconstructionVariance.ToScalar();
        var reconstructionTerm = mse.div(dataVariance);
        var total = reconstructionTerm.add(kld, klWeight).add(auxK, auxKWeight).add(latentKld, latentKLWeight);
        phaseEnded?.Invoke("sparse forward: activations, decode, MSE, KL, AuxK");
        return new SaeLoss(total, mse, kld, latentKld, auxK, values, indices, reconstruction, batchThreshold);
    }

    /// <summary>
    /// BatchTopK: of the activations <c>[N, K_max]</c> (each row's largest), the N·<paramref name="activeLatents"/> largest of the
    /// whole batch, the others set to 0 (no gradient reaches them); and the smallest value kept, the batch's threshold.
    /// </summary>
    private static (Tensor Values, Tensor Threshold) KeepBatchLargest(Tensor activations, int activeLatents)
    {
        var detached = activations.detach();
        var count = detached.numel();
        var budget = Math.Min(count, detached.shape[0] * activeLatents);
        var threshold = detached.flatten().kthvalue(count - budget + 1, 0).values;                  // the budget-th largest
        using var kept = detached.ge(threshold);
        return (activations.mul(kept), threshold);
    }

    /// <summary>Each query's scores with its M documents, <c>[B, M]</c>: documents <c>[B·M, d]</c> in query order.</summary>
    private static Tensor NeighborScores(Tensor queries, Tensor documents, int neighbors) =>
        documents.view(queries.shape[0], neighbors, queries.shape[1]).bmm(queries.unsqueeze(-1)).squeeze(-1);

    /// <summary>KL(p ‖ p̂) between each query's softmax over its documents' scores, original (already divided by τ) and reconstructed, averaged over queries.</summary>
    private static Tensor Kld(Tensor original, Tensor reconstruction, int neighbors, Scalar tau)
    {
        var batch = original.shape[0];
        var reconstructedQueries = reconstruction.narrow(0, 0, batch);                                                                           // [B, d]
        var reconstructedDocuments = reconstruction.narrow(0, batch, batch * neighbors);                                                       // [B·M, d]
        return KL(original, NeighborScores(reconstructedQueries, reconstructedDocuments, neighbors).div(tau));
    }

    /// <summary>KL(p ‖ p_z) with p_z the softmax of the latent scores z_q · z_d over each query's M documents (gathered from the K-sparse codes).</summary>
    private static Tensor LatentKld(int latentSize, Tensor original, Tensor values, Tensor indices, int neighbors, Scalar tau)
    {
        var batch = original.shape[0];
        var k = values.shape[1];
        var documentIndices = indices.narrow(0, batch, batch * neighbors).reshape(batch, neighbors * k);                             // [B, M·K]
        var documentValues = values.narrow(0, batch, batch * neighbors).reshape(batch, neighbors, k);
        // Each query's latents as a dense row, read at its documents' K indices; a few queries at a time, so that the dense
        // rows stay small at any n (n = 196,000 would make one [B, n] block 400 MB).
        var chunk = Math.Max(1, LatentRowBudget / latentSize);
        var scores = new List<Tensor>();
        for (long start = 0; start < batch; start += chunk)
        {
            var count = Math.Min(chunk, batch - start);
            var queryLatents = zeros([count, latentSize], values.dtype, values.device)
                .scatter(1, indices.narrow(0, start, count), values.narrow(0, start, count));                                   // [c, n]
            scores.Add((queryLatents.gather(1, documentIndices.narrow(0, start, count)).view(count, neighbors, k) * documentValues.narrow(0, start, count)).sum([2]));
        }

        return KL(original, cat(scores, 0).div(tau));                                                                            // [B, M]
    }

    /// <summary>The most values a block of dense query latent rows holds in <see cref="LatentKld"/> (16 MB of floats).</summary>
    private const long LatentRowBudget = 4L << 20;

    /// <summary>KL(softmax(original) ‖ softmax(reconstructed)) per row, averaged over rows.</summary>
    private static Tensor KL(Tensor original, Tensor reconstructed)
    {
        var logP = original.log_softmax(1);
        var logQ = reconstructed.log_softmax(1);
        return (logP.exp() * (logP - logQ)).sum([1]).mean();                                           // sum([1]): sum(1) would be sum(ScalarType)
    }
}
