// JGitMerge merges in a repository the way Gerrit's submit does, with
// JGit's RecursiveMerger in core (MergeUtil.newThreeWayMerger), for the
// merger's differential test against a real JGit. One request per line of
// standard input, one answer per line of standard output:
//
//   <attrs|noattrs> merge <ours> <theirs>        (MERGE_*: ours is the tip)
//   <attrs|noattrs> pick <base> <ours> <theirs>  (CHERRY_PICK, REBASE_*)
//
// answered "clean <tree>", "conflict <path>\t<path>..." or "error <text>".
// "attrs" sets the attributes provider, as Gerrit does with
// core.useGitattributesForMerge.
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectInserter;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.merge.MergeStrategy;
import org.eclipse.jgit.merge.ResolveMerger;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;

public class JGitMerge {
	public static void main(String[] args) throws Exception {
		Repository repo = new FileRepositoryBuilder().setGitDir(new File(args[0])).setMustExist(true).build();
		BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
		String line;
		while ((line = in.readLine()) != null) {
			String[] f = line.trim().split(" ");
			try (ObjectInserter ins = repo.newObjectInserter()) {
				ResolveMerger m = (ResolveMerger) MergeStrategy.RECURSIVE.newMerger(ins, repo.getConfig());
				if (f[0].equals("attrs")) {
					m.setAttributesNodeProvider(repo.createAttributesNodeProvider());
				}
				boolean ok;
				if (f[1].equals("pick")) {
					m.setBase(ObjectId.fromString(f[2]));
					ok = m.merge(ObjectId.fromString(f[3]), ObjectId.fromString(f[4]));
				} else {
					ok = m.merge(ObjectId.fromString(f[2]), ObjectId.fromString(f[3]));
				}
				if (ok) {
					ins.flush();
					System.out.println("clean " + m.getResultTreeId().name());
				} else {
					List<String> paths = new ArrayList<>(m.getUnmergedPaths());
					if (m.getFailingPaths() != null) {
						paths.addAll(m.getFailingPaths().keySet());
					}
					Collections.sort(paths);
					System.out.println("conflict " + String.join("\t", paths));
				}
			} catch (Exception e) {
				System.out.println("error " + e.toString().replace('\n', ' '));
			}
			System.out.flush();
		}
	}
}
