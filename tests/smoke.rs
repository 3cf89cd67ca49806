use mpisim::*;

fn ring(comm: &Comm, bytes: u64) -> usize {
    let (rank, size) = (comm.rank(), comm.size());
    let msg = payload_of_size(bytes);
    comm.send(&msg, (rank + 1) % size, 0);
    let got: Vec<u8> = comm.recv((rank + size - 1) % size, 0);
    got.len()
}

#[test]
fn smoke() {
    let r = World::new(4).run(|c| ring(c, 8)).unwrap();
    println!("{:?} {}", r.results, r.time);
    let e = World::new(4).run(|c| ring(c, 1 << 20)).unwrap_err();
    println!("{e}");
    let e = World::new(2)
        .run(|c| {
            if c.rank() == 1 {
                let _: f64 = c.recv(0, 0);
            } else {
                c.send(&5i64, 1, 0)
            }
        })
        .unwrap_err();
    println!("{e}");
    let e = World::new(2).run(|c| c.send(&5i64, 7, 0)).unwrap_err();
    println!("{e}");
    let e = World::new(2)
        .run(|c| {
            if c.rank() == 1 {
                panic!("boom {}", 3)
            }
        })
        .unwrap_err();
    println!("{e}");
}
